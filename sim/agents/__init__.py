"""Mesa agents: owners, businesses, households and the municipality."""
