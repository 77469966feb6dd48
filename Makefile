# evpose: two commands do everything on a fresh machine.
#   make demo   set up .venv, generate the synthetic demo data, run the pipeline end to end
#   make test   set up .venv, run the whole test suite
#
# Set-up is idempotent: each step leaves a stamp in .venv and is skipped once done.
# GPU users pick their torch build, e.g.
#   make setup TORCH="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128"

PYTHON_SYS ?= python3
VENV       ?= .venv
PY         := $(VENV)/bin/python
PIP        := $(PY) -m pip --disable-pip-version-check
TORCH      ?= torch==2.13.0
SCATTER    ?= torch-scatter
PYTEST_ARGS ?=

.PHONY: setup demo test bench clean-venv

setup: $(VENV)/.stamp-evpose

$(VENV)/.stamp-venv:
	$(PYTHON_SYS) -m venv $(VENV)
	$(PIP) install -q "setuptools>=68" wheel
	touch $@

$(VENV)/.stamp-torch: $(VENV)/.stamp-venv
	$(PIP) install -q $(TORCH)
	touch $@

# torch-scatter has no wheel for recent torch on PyPI: it compiles against the
# installed torch (about 5 minutes the first time; pip's wheel cache afterwards).
$(VENV)/.stamp-scatter: $(VENV)/.stamp-torch
	$(PIP) install -q --no-build-isolation $(SCATTER)
	touch $@

$(VENV)/.stamp-evpose: $(VENV)/.stamp-scatter pyproject.toml
	$(PIP) install -q --no-build-isolation -e ".[dev,import]"
	touch $@

demo: setup
	$(VENV)/bin/python -m evpose.cli.demo

test: setup
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

bench: setup
	for b in io_throughput synth representations model aedat; do $(VENV)/bin/python bench/$$b.py || exit 1; done

clean-venv:
	rm -rf $(VENV)
