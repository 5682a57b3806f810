# kagglekit: `make demo` (no account needed) or `make submit` (a real Kaggle submission).
# Every target installs .venv/ first if needed. Override any variable on the command line:
#   make submit MODEL=seed-task5 EPOCHS=10
# COMPETITION: Kaggle slug.  DATA: DATA/SLUG/{raw,cache,images,folders}.  MODEL: see `make models`.
# EPOCHS, SEED: empty means the version's own (seed 0).  RUNS: training runs.  SUBS: submission records (commit it).
# ALL_DATA=1: train on every labelled image, validation split included (the final submission, once the recipe is fixed).
# TTA: test-time augmentation in predict, none | flip | flip-translate; empty means what the version was measured with.
# WHERE: local (train and predict here) | kaggle (in a kernel on Kaggle's ACCELERATOR: t4x2 | p100 | tpu | cpu).
PYTHON      ?= python3
VENV        ?= .venv
COMPETITION ?= cifar-10
DATA        ?= data
MODEL       ?= fast
EPOCHS      ?=
SEED        ?=
ALL_DATA    ?=
RUNS        ?= runs
SUBS        ?= submissions
TTA         ?=
WHERE       ?= local
ACCELERATOR ?= t4x2

PY    := $(VENV)/bin/python
KK    := $(PY) -m kagglekit
ON    := --competition $(COMPETITION) --data-dir $(DATA)

.PHONY: wheelhouse install test test-fast fetch unpack folders models train predict remote submit scores compare demo bench clean

# `make submit` takes its prediction from here or from a Kaggle kernel.
ifeq ($(WHERE),kaggle)
PREDICTED := remote
else ifeq ($(WHERE),local)
PREDICTED := predict
else
$(error WHERE must be local or kaggle, not '$(WHERE)')
endif

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $@

install: $(VENV)/.installed  ## create .venv/ with kagglekit and its test tools

test: install  ## the test suite (what CI runs)
	$(PY) -m pytest -q

test-fast: install  ## the suite without the few slow tests
	$(PY) -m pytest -q -m "not slow"

fetch: install
	$(KK) fetch $(ON)

unpack: fetch
	$(KK) unpack $(ON)

folders: unpack
	$(KK) folders $(ON)

models: install
	$(KK) models

train: folders  ## train MODEL (reuses a finished run of the same recipe; `kagglekit train` alone always trains)
	$(KK) train $(ON) --model $(MODEL) --runs-dir $(RUNS) $(if $(EPOCHS),--epochs $(EPOCHS)) $(if $(SEED),--seed $(SEED)) $(if $(ALL_DATA),--all-data) --reuse

predict: train
	$(KK) predict $(MODEL) $(ON) --runs-dir $(RUNS) --submissions-dir $(SUBS) $(if $(TTA),--tta $(TTA))

remote: install  ## train and predict MODEL in a kernel on Kaggle's ACCELERATOR, then record the run here
	$(KK) remote $(MODEL) $(ON) --accelerator $(ACCELERATOR) --runs-dir $(RUNS) --submissions-dir $(SUBS) $(if $(EPOCHS),--epochs $(EPOCHS)) $(if $(SEED),--seed $(SEED)) $(if $(TTA),--tta $(TTA))

submit: $(PREDICTED)  ## the main job: fetch -> unpack -> folders -> train -> predict (WHERE=kaggle: remote) -> submit -> scores -> compare
	$(KK) submit $(MODEL) $(ON) --submissions-dir $(SUBS) --skip-if-submitted
	$(KK) scores $(ON) --submissions-dir $(SUBS)
	$(KK) compare $(ON) --submissions-dir $(SUBS)

scores: install
	$(KK) scores $(ON) --submissions-dir $(SUBS)

compare: install
	$(KK) compare $(ON) --submissions-dir $(SUBS)

demo: install  ## the whole chain against a local Kaggle API server: no account, no network (writes demo/; WHERE=kaggle: demo/kaggle/)
	$(KK) demo --where $(WHERE)

bench: install  ## the speed benchmarks (need ../shared/cifar10); results go in bench/RESULTS.md
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) bench/unpack_speed.py
	$(PY) bench/predict_speed.py
	$(PY) bench/train_speed.py

# For a Kaggle notebook without internet: kagglekit's wheel and the wheels its image lacks (py7zr and its
# decoders, kaggle 2.2.4 and kagglesdk), for the notebook's Python and platform. Upload WHEELHOUSE as a dataset.
WHEELHOUSE      ?= wheelhouse
WHEEL_PYTHON    ?= 3.12
WHEEL_PLATFORMS ?= manylinux2014_x86_64 manylinux_2_17_x86_64 manylinux_2_28_x86_64
wheelhouse: install  ## kagglekit + py7zr + kaggle wheels in WHEELHOUSE/ for an offline notebook install
	rm -rf $(WHEELHOUSE) && mkdir -p $(WHEELHOUSE)
	$(PY) -m pip wheel --quiet --no-deps -w $(WHEELHOUSE) . && rm -rf build
	$(PY) -m pip download --quiet -d $(WHEELHOUSE) --only-binary=:all: --python-version $(WHEEL_PYTHON) \
	  $(foreach p,$(WHEEL_PLATFORMS),--platform $(p)) -c constraints.txt py7zr kaggle kagglesdk
	@ls $(WHEELHOUSE)

clean:  ## remove unpacked data and the demo (keeps downloads in $(DATA)/*/raw, runs/ and submissions/)
	rm -rf $(DATA)/*/cache $(DATA)/*/images $(DATA)/*/folders demo
