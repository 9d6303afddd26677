# The two commands of the README: `make run` (the smoke DAG) and `make test`.
# Both build .venv from nothing when it is missing and skip what is already done.

VENV    := .venv
PYTHON  := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: run test test-slurm lint clean

$(STAMP): pyproject.toml requirements/constraints.txt
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -c requirements/constraints.txt -e ".[workflow,dev]"
	touch $(STAMP)

run: $(STAMP)
	snakemake --cores all
	@echo
	@echo "tables:  $(CURDIR)/results/tables"
	@ls results/tables
	@echo "figures: $(CURDIR)/results/figures"
	@ls results/figures

test: $(STAMP)
	pytest

# The SLURM profile on a real single-node SLURM started here (Debian slurm-wlm + munge, as
# root; scripts/slurm-local.sh), stopped afterwards. Not in `make test`: status polling makes
# the smoke DAG take several times its local time.
test-slurm: $(STAMP)
	scripts/slurm-local.sh start
	pytest -m slurm tests/integration/test_slurm.py -v -rs; status=$$?; \
		scripts/slurm-local.sh stop; exit $$status

lint: $(STAMP)
	ruff check src tests benchmarks
	ruff format --check src tests benchmarks
	snakefmt --check .
	snakemake --lint

clean:
	rm -rf data/raw data/processed results logs .snakemake
