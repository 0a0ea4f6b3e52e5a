# Two commands do all the set-up on a fresh machine with Python 3.11 and pip:
#   make report   — the main job: the agreement report
#   make test     — the test suite
#   make bench    — the speed benchmark (not part of the tests): prints its tables, writes backprop-report/bench.json
# Each creates .venv with the pinned dependencies (constraints.txt) if it is missing.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: report test test-thorough bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[test]"
	touch $(STAMP)

report: $(STAMP)
	$(PY) -m reports $(ARGS)

test: $(STAMP)
	$(PY) -m pytest $(ARGS)

bench: $(STAMP)
	$(PY) -m reports.bench $(ARGS)

test-thorough: $(STAMP)
	HYPOTHESIS_PROFILE=thorough $(PY) -m pytest --run-slow $(ARGS)

clean:
	rm -rf $(VENV) reports/out backprop-report backprop-check-report .pytest_cache .hypothesis
