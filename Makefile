# Audio Large Models, from zero to mastery. `make` or `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PROFILE ?= default
NB ?=
JOBS ?= 2

# torch is installed on its own: the CPU wheel where there is no NVIDIA GPU (no CUDA packages),
# the default PyPI build where there is one or on macOS.
TORCH_VERSION := 2.13.0
ifeq ($(shell uname -s),Darwin)
TORCH_SPEC ?= torch==$(TORCH_VERSION)
else ifneq ($(shell command -v nvidia-smi 2>/dev/null),)
TORCH_SPEC ?= torch==$(TORCH_VERSION)
else
TORCH_SPEC ?= torch==$(TORCH_VERSION)+cpu --extra-index-url https://download.pytorch.org/whl/cpu --retries 0
endif
WHISPER_VERSION := 20250625
NO_DEPS := openai-whisper==$(WHISPER_VERSION) resemblyzer==0.1.4 basic-pitch==0.4.0 mplfonts==0.0.11  # see requirements.txt

.PHONY: help setup run smoke test lab refresh models zoo clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z]+:.*## / {printf "  make %-9s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "  variables: PROFILE=default|smoke|pretrained  NB=01 (one notebook)  JOBS=2 (test workers)  NAME=whisper-mini"

setup: $(STAMP) ## create .venv with the pinned dependencies (done for you by run/test/lab)

$(STAMP): requirements.txt constraints.txt pyproject.toml
	@test -n "$(PYTHON)" || { echo "error: no python3.11 on PATH; install Python 3.11 or pass PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet $(TORCH_SPEC)
	$(PY) -m pip install --quiet -r requirements.txt -c constraints.txt
	$(PY) -m pip install --quiet --no-deps $(NO_DEPS) -e .
	@touch $@

run: $(STAMP) ## execute the notebooks (PROFILE=..., NB=01) into runs/PROFILE/ with HTML and a summary table
	$(PY) -m helpers run --profile $(PROFILE) $(if $(NB),--nb $(NB))

smoke: ## every notebook with the smoke profile (seconds each)
	@$(MAKE) --no-print-directory run PROFILE=smoke

# --dist loadfile keeps each notebook's nbval cells (one kernel) and each tests/test_nbNN file on one worker.
# (Not loadgroup: with pytest 9.2 and pytest-xdist 3.8 it ignores xdist_group marks, pytest-xdist#1386.)
test: $(STAMP) ## the whole test suite: helpers, notebooks (smoke, sweeps, golden records) and nbval
	$(PY) -m pytest -n $(JOBS) --dist loadfile --durations=40

lab: $(STAMP) ## JupyterLab on the project's environment, opening notebooks/
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks

refresh: $(STAMP) ## re-execute the committed notebooks in place with their defaults (NB=01 for one)
	$(PY) -m helpers refresh $(if $(NB),--nb $(NB))

models: $(STAMP) ## prefetch the checkpoints a profile names into the local cache (PROFILE=pretrained)
	$(PY) -m helpers models --profile $(PROFILE)

zoo: $(STAMP) ## train a zoo model with its recipe and write its card (NAME=whisper-mini; SMOKE=1 seconds scale, RESUME=1, ARGS="--set steps=5000")
	@test -n "$(NAME)" || { echo "error: say which model, e.g. make zoo NAME=whisper-mini"; $(PY) -m helpers zoo list; exit 2; }
	$(PY) -m helpers zoo train $(NAME) $(if $(SMOKE),--smoke) $(if $(FORCE),--force) $(if $(RESUME),--resume) $(ARGS)

clean: ## remove runs/, the data and model caches and .venv
	rm -rf runs .cache $(VENV)
	find . -name __pycache__ -prune -exec rm -rf {} +
