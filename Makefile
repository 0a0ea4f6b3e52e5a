# Two commands do all the set-up on a fresh machine with Python 3.11 and pip:
#   make report   — the main job: the agreement report
#   make test     — the test suite
#   make bench    — the speed benchmark (not part of the tests): prints its tables, writes backprop-report/bench.json
#   make docs     — the manual (docs/, mkdocs.yml) built into site/; any warning or broken link fails it
# Each creates .venv with the pinned dependencies (constraints.txt) if it is missing.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: report test test-thorough bench docs clean

# PYTHONWARNINGS: setuptools' notice on every editable install ("be careful with folders named like
# your package"; there is none: backprop_reference has no folder of its own) is filtered by its text;
# any other packaging warning still prints.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	PYTHONWARNINGS="ignore:Editable installation" $(PY) -m pip install --quiet -c constraints.txt -e ".[test,docs]"
	touch $(STAMP)

report: $(STAMP)
	$(PY) -m backprop_reference.reports $(ARGS)

test: $(STAMP)
	$(PY) -m pytest $(ARGS)

bench: $(STAMP)
	$(PY) -m backprop_reference.reports.bench $(ARGS)

# --strict: a warning (a broken link or anchor, a page left out of the nav, a docstring griffe cannot
# read) is an error. NO_MKDOCS_2_WARNING: mkdocs-material's banner about its successor, printed on every build.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir site

test-thorough: $(STAMP)
	HYPOTHESIS_PROFILE=thorough $(PY) -m pytest --run-slow $(ARGS)

clean:
	rm -rf $(VENV) reports/out backprop-report backprop-check-report site .pytest_cache .hypothesis
