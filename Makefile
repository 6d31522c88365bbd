# Two entry points for a fresh clone (see README):
#   make reproduce   -> builds .venv, runs every analysis, writes results/figures/paper numbers
#   make test        -> builds .venv, runs the test suite
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: reproduce test venv clean-outputs benchmark validate docs

venv: $(STAMP)

$(STAMP): pyproject.toml
	@set -e; py=$$(tools/find-python.sh); echo "using $$py"; \
	  [ -x $(PY) ] || $$py -m venv $(VENV); \
	  $(PY) -m pip install --quiet --upgrade pip; \
	  $(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

reproduce: $(STAMP)
	$(PY) analyses/run_all.py

test: $(STAMP)
	$(PY) -m pytest -q

benchmark: $(STAMP)
	$(PY) benchmarks/run_all.py

validate: $(STAMP)
	$(PY) -m pytest -q -m slow

docs: $(STAMP)
	$(PY) -m sphinx -b html -W --keep-going docs/api docs/api/_build/html
