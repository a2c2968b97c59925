# The two commands of the README: `make run` (the workflow on the embedded defaults)
# and `make test` (the whole test suite). Both set everything up on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
CORES ?= 2

# Extras to install: all = the CPU default; a GPU host uses EXTRAS=embed,gpu,test (see README, GPU hosts).
EXTRAS ?= all

.PHONY: install profiles run test rulegraph clean-results

# The install is decided by content, not timestamps (a fresh clone's timestamps say nothing): the stamp
# holds a hash of pyproject.toml, constraints.txt and the extras, and pip runs only when that hash differs.
INSTALL_HASH := $(shell cat pyproject.toml constraints.txt 2>/dev/null | { sha256sum 2>/dev/null || shasum -a 256; } | cut -c1-16)-$(EXTRAS)
ifneq ($(shell cat $(VENV)/.installed 2>/dev/null),$(INSTALL_HASH))
.PHONY: $(VENV)/.installed
endif

$(VENV)/.installed:
	@echo "install: pyproject.toml, constraints.txt or EXTRAS changed (or no install yet): installing into $(VENV)"
	[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[$(EXTRAS)]'
	echo '$(INSTALL_HASH)' > $@

install: $(VENV)/.installed profiles

# Link profiles/* into Snakemake's user config dir, so `snakemake --profile slurm-l4` works by name
# (quiet when the links are already there).
profiles: $(VENV)/.installed
	@tools/link-profiles.sh $(PY)

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
