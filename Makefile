# kagglekit: `make demo` (no account needed) or `make submit` (a real Kaggle submission).
# Every target installs .venv/ first if needed. Override any variable on the command line:
#   make submit MODEL=seed-task5 EPOCHS=10
PYTHON      ?= python3
VENV        ?= .venv
COMPETITION ?= cifar-10
DATA        ?= data
MODEL       ?= seed-cifar10-modeling
EPOCHS      ?=
RUNS        ?= runs

PY    := $(VENV)/bin/python
KK    := $(PY) -m kagglekit
WHERE := --competition $(COMPETITION) --data-dir $(DATA)

.PHONY: install test test-all fetch unpack folders models train predict submit scores compare demo bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed  ## create .venv/ with kagglekit and its test tools

test: install  ## the test suite (what CI runs)
	$(PY) -m pytest -q

test-fast: install  ## the suite without the few slow tests
	$(PY) -m pytest -q -m "not slow"

fetch: install
	$(KK) fetch $(WHERE)

unpack: fetch
	$(KK) unpack $(WHERE)

folders: unpack
	$(KK) folders $(WHERE)

models: install
	$(KK) models

train: folders
	$(KK) train $(WHERE) --model $(MODEL) --runs-dir $(RUNS) $(if $(EPOCHS),--epochs $(EPOCHS))

clean:  ## remove run outputs and unpacked data (keeps downloads in $(DATA)/*/raw)
	rm -rf $(RUNS) $(DATA)/*/cache $(DATA)/*/images $(DATA)/*/folders
