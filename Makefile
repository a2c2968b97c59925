# The two commands of the README: `make run` (the workflow on the embedded defaults)
# and `make test` (the whole test suite). Both set everything up on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
CORES ?= 2

.PHONY: install run test clean-results

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[all]'
	touch $@

install: $(VENV)/.installed

run: install
	$(VENV)/bin/snakemake --profile profiles/local --cores $(CORES)

test: install
	tools/system-deps.sh
	$(PY) -m pytest tests; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; exit $$rc

clean-results:
	rm -rf results .snakemake
