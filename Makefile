# The two commands of the README: `make run` (the workflow on the embedded defaults)
# and `make test` (the whole test suite). Both set everything up on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
CORES ?= 2

# Extras to install: all = the CPU default; a GPU host uses EXTRAS=embed,gpu,test (see README, GPU hosts).
EXTRAS ?= all

.PHONY: install profiles run test rulegraph clean-results

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[$(EXTRAS)]'
	touch $@

install: $(VENV)/.installed profiles

# Link profiles/* into Snakemake's user config dir, so `snakemake --profile slurm-l4` works by name.
profiles: $(VENV)/.installed
	tools/link-profiles.sh $(PY)

run: install
	$(VENV)/bin/snakemake --profile profiles/local --cores $(CORES)

test: install
	tools/system-deps.sh
	$(PY) -m pytest tests; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; exit $$rc

# The rule graph shown in the README (graphviz's dot: tools/apt-packages.txt).
rulegraph: install
	$(VENV)/bin/snakemake --rulegraph --cores 1 | dot -Tsvg > docs/rulegraph.svg

clean-results:
	rm -rf results .snakemake
