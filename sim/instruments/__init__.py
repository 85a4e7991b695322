"""Policy instruments. Each instrument module registers itself on import (see base.py)."""
