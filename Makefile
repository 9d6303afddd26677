# The two commands of the README: `make run` (the smoke DAG) and `make test`.
# Both build .venv from nothing when it is missing and skip what is already done.

VENV    := .venv
PYTHON  := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: run test lint clean

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

lint: $(STAMP)
	ruff check src tests benchmarks
	ruff format --check src tests benchmarks
	snakefmt --check .
	snakemake --lint

clean:
	rm -rf data/raw data/processed results logs .snakemake
