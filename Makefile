# `make demo`: set up .venv and run the whole pipeline on the bundled demo data (CPU, minutes).
# `make test`: set up .venv and run the test suite.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The CPU build of torch; users with CUDA: `make setup TORCH=torch` (or install theirs first).
TORCH  ?= torch==2.13.0
STAMP  := $(VENV)/.kuznia-installed
CONFIG ?= configs/demo.yaml
export KUZNIA_PROGRESS ?= 1

.PHONY: setup demo test bench clean-demo

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/kuznia run --config $(CONFIG)
	$(BIN)/kuznia status --config $(CONFIG)

test: setup
	KUZNIA_PROGRESS=0 $(BIN)/python -m pytest -q

clean-demo:
	rm -rf work/demo
