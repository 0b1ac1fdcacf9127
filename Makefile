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

.PHONY: setup browser demo test bench clean-demo

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

# The report test renders the HTML report in headless Chromium (Debian's package): install it when
# it is missing and we can (root with apt-get), else say exactly what to run.
browser:
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
	    || command -v google-chrome >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium (apt-get) for the report's browser test"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
	    echo "make test needs Chromium (tests/corpus/report/test_report_browser.py renders the report);"; \
	    echo "install it as root: apt-get install -y chromium (or put chromium on PATH), then re-run"; \
	    exit 1; \
	fi

test: setup browser
	KUZNIA_PROGRESS=0 $(BIN)/python -m pytest -q

clean-demo:
	rm -rf work/demo
