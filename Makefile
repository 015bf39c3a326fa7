# Two entry points of the quick start; each sets up .venv on first use.
PY ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: check test figures

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev,cluster]'
	touch $(STAMP)

check: $(STAMP)
	$(VENV)/bin/multiview check --preset small --seeds 10 --out out

# every figure of figures/ (PDF + PNG); results cached under runs/figures (docs/figures.md)
figures: $(STAMP)
	$(VENV)/bin/python experiments/make_figures.py

# pytest exit status 5 means "no tests collected": treated as a failure here too,
# since this suite always has tests.
test: $(STAMP)
	$(VENV)/bin/python -m pytest
