# cartpool build. `make reports` and `make test` set everything up themselves.
# Studies are discovered from data/studies/*/ ; there is no list anywhere else.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:
.SUFFIXES:
MAKEFLAGS += --no-builtin-rules

PYTHON_SYS ?= python3
VENV       := .venv
PY         := $(VENV)/bin/python
STAMP_ENV  := $(VENV)/.cartpool-env
SOURCES    ?= ../shared/seeds
export CARTPOOL_SOURCES := $(abspath $(SOURCES))
export PYTHONDONTWRITEBYTECODE :=
export MPLBACKEND := Agg
export PYDEVD_DISABLE_FILE_VALIDATION := 1

STUDY_DIRS := $(sort $(wildcard data/studies/*/))
STUDIES    := $(patsubst data/studies/%/,%,$(STUDY_DIRS))
study_files = $(wildcard data/studies/$(1)/*)
ALL_DATA   := $(foreach s,$(STUDIES),$(call study_files,$(s)))
PKG_SRC    := $(shell find src/cartpool -name '*.py' -o -name '*.css' -o -name '*.j2' | sort)

.PHONY: help
help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

# --- environment: a virtual environment from the pinned lock, remade when the lock changes ------
$(STAMP_ENV): requirements.lock pyproject.toml
	@$(PYTHON_SYS) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "cartpool needs Python 3.11 or newer; found " + sys.version.split()[0])'
	@echo "[setup] creating $(VENV) from requirements.lock (first run only, about a minute)"
	@rm -rf $(VENV)
	@$(PYTHON_SYS) -m venv $(VENV)
	@$(VENV)/bin/pip install --quiet --no-deps --require-virtualenv -r requirements.lock 2>&1 | { grep -v "is neither a file nor a directory" || true; }
	@# the package itself, from src/ (a path entry: no build step, edits take effect at once)
	@echo "$(abspath src)" > $$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/cartpool-src.pth
	@$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	@touch $@

.PHONY: env
env: $(STAMP_ENV) ## Create the virtual environment (done automatically by other targets)
