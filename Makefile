# kagglekit: `make demo` (no account needed) or `make submit` (a real Kaggle submission).
# Every target installs .venv/ first if needed. Override any variable on the command line:
#   make submit MODEL=seed-task5 EPOCHS=10
# COMPETITION: Kaggle slug (`make competitions`).  DATA: DATA/SLUG/{raw,cache,images,folders}.
# MODEL: see `make models`; empty means the version the competition's spec names (cifar-10: fast).
# EPOCHS, SEED: empty means the version's own (seed 0).  RUNS: training runs.  SUBS: submission records (commit it).
# ALL_DATA=1: train on every labelled image, validation split included (the final submission, once the recipe is fixed).
# SET: recipe overrides, KEY=VALUE separated by spaces, VALUE as JSON or a bare word: SET='lookahead=false rotation=15'.
# train, predict, remote and submit all get the same recipe flags (RECIPE), so each stage takes the very run
# the one before it trained: never "the newest run of that name".
# TTA: test-time augmentation in predict, none | flip | flip-translate; empty means what the version was measured with.
#   Its views after the first go to a fixed share of the images, the least confident first (predict --tta-budget).
# WHERE: local (train and predict here) | kaggle (in a kernel on Kaggle's ACCELERATOR: t4x2 | p100 | tpu | cpu).
#   A code competition (spec kind = "code") trains and predicts here, and WHERE=kaggle submits its offline kernel.
# REMOTE: kernel folders and push records.  REMOTE_FLAGS: more `kagglekit remote` flags, e.g. '--wait 3600 --interval 60'.
# TEST_WORKERS: test processes (pytest-xdist), each test file in one; every one imports TensorFlow (~1 GB).
PYTHON      ?= python3
VENV        ?= .venv
COMPETITION ?= cifar-10
DATA        ?= data
MODEL       ?=
TEST_WORKERS ?= 2
EPOCHS      ?=
SEED        ?=
ALL_DATA    ?=
SET         ?=
RUNS        ?= runs
SUBS        ?= submissions
TTA         ?=
WHERE       ?= local
ACCELERATOR ?= t4x2
REMOTE      ?= remote
REMOTE_FLAGS ?=

PY    := $(VENV)/bin/python
KK    := $(PY) -m kagglekit
ON    := --competition $(COMPETITION) --data-dir $(DATA)
RECIPE = $(if $(MODEL),--model $(MODEL)) $(if $(EPOCHS),--epochs $(EPOCHS)) $(if $(SEED),--seed $(SEED)) $(if $(ALL_DATA),--all-data) \
         $(foreach setting,$(SET),--set '$(setting)')

.PHONY: wheelhouse install test lint test-fast fetch unpack folders models competitions train predict remote submit scores compare demo bench clean

ifeq ($(filter $(WHERE),local kaggle),)
$(error WHERE must be local or kaggle, not '$(WHERE)')
endif

# The stage chain is kagglekit's own (kagglekit/chain.py): each target runs it up to its stage, every stage
# with the same recipe flags, skipping what is complete.
CHAIN = $(ON) $(RECIPE) --runs-dir $(RUNS) --submissions-dir $(SUBS) $(if $(TTA),--tta $(TTA)) \
        --remote-flags "--accelerator $(ACCELERATOR) --remote-dir $(REMOTE) $(REMOTE_FLAGS)"

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test,tensorflow,jax,hub]'
	touch $@

install: $(VENV)/.installed  ## create .venv/ with kagglekit and its test tools

test: install lint  ## lint, then the test suite (what CI runs)
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile

lint: install  ## ruff's checks and formatting, configured in pyproject.toml (`ruff format .` fixes the layout)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

test-fast: install  ## the suite without the few slow tests
	$(PY) -m pytest -q -m "not slow" -n $(TEST_WORKERS) --dist loadfile

fetch unpack folders: install
	$(KK) chain --to $@ $(CHAIN)

models: install  ## the model versions
	$(KK) models

competitions: install  ## the competitions kagglekit has a spec for: files, labels, submission format, metric
	$(KK) competitions

train: install  ## train MODEL (reuses a finished run of the same recipe on the same data; `kagglekit train` alone always trains)
	$(KK) chain --to train $(CHAIN)

predict: install  ## predict the test set with the very run `make train` trained or reused
	$(KK) chain --to predict $(CHAIN)

remote: install  ## train and predict MODEL in a kernel on Kaggle's ACCELERATOR, then record the run here
	$(KK) chain --to remote --where kaggle $(CHAIN)

submit: install  ## the main job: fetch -> unpack -> folders -> train -> predict (WHERE=kaggle: remote) -> submit -> scores -> compare
	$(KK) chain --to compare --where $(WHERE) $(CHAIN)

scores: install
	$(KK) scores $(ON) --submissions-dir $(SUBS)

compare: install
	$(KK) compare $(ON) --submissions-dir $(SUBS)

demo: install  ## the whole chain against a local Kaggle API server: no account, no network (writes demo/, demo/SLUG/ for another COMPETITION; WHERE=kaggle: .../kaggle/), then a generated code competition (demo/code/)
	$(KK) demo --where $(WHERE) --competition $(COMPETITION)
	$(KK) demo --code-competition

bench: install  ## the speed benchmarks (need ../shared/cifar10); results go in bench/RESULTS.md
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) bench/unpack_speed.py
	$(PY) bench/predict_speed.py
	$(PY) bench/train_speed.py

# For a Kaggle notebook without internet (and the wheels dataset of a code competition's kernel): kagglekit's
# wheel and the pinned wheels its image lacks (py7zr and its decoders, kaggle 2.2.4 and kagglesdk...), for the
# notebook's Python and platform, from kagglekit.remote.offline.build_wheelhouse. Upload WHEELHOUSE as a dataset.
WHEELHOUSE      ?= wheelhouse
WHEEL_PYTHON    ?= 3.12
WHEEL_PLATFORMS ?= manylinux2014_x86_64 manylinux_2_17_x86_64 manylinux_2_28_x86_64
wheelhouse: install  ## kagglekit + py7zr + kaggle wheels in WHEELHOUSE/ for an offline notebook install
	$(PY) -m kagglekit.remote.offline $(WHEELHOUSE) --python $(WHEEL_PYTHON) $(foreach p,$(WHEEL_PLATFORMS),--platform $(p))
	@ls $(WHEELHOUSE)

clean:  ## remove unpacked data and the demo (keeps downloads in $(DATA)/*/raw, runs/ and submissions/)
	rm -rf $(DATA)/*/cache $(DATA)/*/images $(DATA)/*/folders demo
