# amumo-ng: `make demo` sets up and starts the explorer on the embedded default;
# `make test` sets up and runs the whole test suite (CI runs it through .ci/run).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
ARCH := $(shell uname -m)
# torch/torchvision pairs that import cleanly together (see README, "Installing").
ifeq ($(ARCH),aarch64)
TORCH_PINS ?= torch==2.9.1 torchvision==0.24.1
else
TORCH_PINS ?= torch==2.14.1 torchvision==0.29.1
endif
STAMP := $(VENV)/.amumo-installed
# numpy asks Linux for transparent huge pages on every array of 4 MB or more (madvise). On this
# project's 2-core VMs those pages are faulted in slowly: 256 MB first touched in 3.8-4.4 s with
# the hint, 0.14-0.20 s without (../shared/notes/fresh-memory.md), and a 1M-pair Explorer took
# 11.5 s to construct instead of 2.1 s. What make starts (tests, demo, benchmarks) runs without it;
# NUMPY_MADVISE_HUGEPAGE=1 in the environment keeps numpy's default.
export NUMPY_MADVISE_HUGEPAGE ?= 0
PYTEST_ARGS ?=
JS := amumo_ng/widgets/js
BUNDLE := amumo_ng/widgets/static/explorer.js
JS_SOURCES := $(shell find $(JS)/src -name '*.js' 2>/dev/null) $(JS)/package.json $(JS)/package-lock.json

.PHONY: setup test test-fast test-browser demo browser-deps bench bench-deps js clean

# The anywidget front ends: esbuild bundles from npm packages (never fetched from a CDN at run time).
$(BUNDLE): $(JS_SOURCES)
	npm --prefix $(JS) ci --no-audit --no-fund --loglevel=error
	npm --prefix $(JS) run build --silent
	touch $@

js: $(BUNDLE)

$(STAMP): pyproject.toml Makefile $(BUNDLE)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH_PINS)
	$(PY) -m pip install -q -e '.[test,demo,hub]'
	touch $@

setup: $(STAMP)

# Debian's chromium drives the real-browser tests (Playwright's own browser download does not work offline).
browser-deps: setup
	sh scripts/browser_deps.sh $(VENV)

test: setup browser-deps
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: setup
	$(PY) -m pytest -m "not browser and not slow" $(PYTEST_ARGS)

test-browser: browser-deps
	$(PY) -m pytest tests/browser $(PYTEST_ARGS)

demo: setup
	$(VENV)/bin/amumo-ng demo

# The baselines of the benchmarks (jupyter-scatter), in the benchmark environment only.
bench-deps: browser-deps
	$(PY) -m pip install -q -r benchmarks/requirements.txt

bench: bench-deps
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) build dist *.egg-info test-artifacts $(JS)/node_modules amumo_ng/widgets/static
