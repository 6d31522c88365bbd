# Two entry points for a fresh clone (see README):
#   make reproduce   -> builds .venv, runs every analysis, writes results/figures/paper numbers
#   make test        -> builds .venv, runs the test suite
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: reproduce test venv clean-outputs benchmark validate docs check release

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
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) benchmarks/run_all.py

validate: $(STAMP)
	$(PY) -m pytest -q -m slow

docs: $(STAMP)
	$(PY) -m sphinx -b html -W --keep-going docs/api docs/api/_build/html

# regenerate the outputs on this machine and compare them with the committed ones: exact for
# deterministic outputs, within 3 MCSE for MCMC summaries (tools/check_outputs.py); FORCE=1 reruns all
check: $(STAMP)
	$(PY) analyses/run_all.py $(if $(FORCE),--force,)
	$(PY) tools/check_outputs.py

# tag a release v<version> (tools/release.py): only when pyproject, CITATION.cff, .zenodo.json,
# CHANGELOG.md and the committed output manifest agree; pushing the tag is left to the maintainer
release: $(STAMP)
	$(PY) tools/release.py
