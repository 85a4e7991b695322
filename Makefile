# The two set-up commands of the README: `make run` and `make test`.
#
# PYTHON: the newest supported Python (3.11-3.13) that runs here (tools/find-python;
# a pyenv shim that errors is skipped). Override: `make test PYTHON=/path/to/python3.12`.
# VENV: the virtual environment (default .venv; CI keeps one per Python).
PYTHON ?= $(shell tools/find-python)
VENV   ?= .venv
BIN    := $(VENV)/bin
PY_VERSION := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
STAMP  := $(VENV)/.installed-py$(PY_VERSION)
# test processes: one per core (pytest-xdist); TEST_WORKERS=0 runs in this process
TEST_WORKERS ?= auto

.PHONY: run app bench-app test bench bench-sweep bench-crn evidence golden install clean

$(STAMP): pyproject.toml
	@test -n "$(PY_VERSION)" || { echo "make: no usable Python (PYTHON='$(PYTHON)'); install Python >= 3.11 or set PYTHON=" >&2; exit 1; }
	@if [ -x $(BIN)/python ] && [ "$$($(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" != "$(PY_VERSION)" ]; then \
		echo "make: $(VENV) was made with another Python; making it anew with $(PYTHON) ($(PY_VERSION))"; rm -rf $(VENV); fi
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test,app]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/regie run scenarios/baseline.yaml

# The workshop web page (README "Workshop app"): http://localhost:8765/, Ctrl-C stops it.
app: $(STAMP)
	$(BIN)/regie app

bench-app: $(STAMP)
	$(BIN)/python bench/app_bench.py

test: $(STAMP)
	@$(BIN)/python -c 'import sys, mesa; print(f"Python {sys.version.split()[0]}, Mesa {mesa.__version__}")'
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile tests

bench: $(STAMP)
	$(BIN)/python bench/run_bench.py

bench-sweep: $(STAMP)
	$(BIN)/python bench/sweep_bench.py --workers 2

bench-crn: $(STAMP)
	$(BIN)/python bench/crn.py --replicates 16 --years 10 --workers 2

# The model's side of docs/evidence.md: each instrument against itself switched off, 16 replicates
# on common random numbers, 20 years (about 5 minutes on 2 cores); writes results/evidence/.
evidence: $(STAMP)
	$(BIN)/python experiments/evidence.py --replicates 16

# Rewrite the stored baseline metrics that tests/test_golden.py compares against (only when a
# change of model results is intended; say so in the commit).
golden: $(STAMP)
	$(BIN)/python tests/test_golden.py --refresh

clean:
	rm -rf $(VENV) .venv-* .pytest_cache build *.egg-info
