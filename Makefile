# cartpool build. `make reports` and `make test` set everything up themselves.
# Studies are discovered from data/studies/*/ ; there is no list anywhere else.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:
.SUFFIXES:
.SECONDEXPANSION:
MAKEFLAGS += --no-builtin-rules --no-print-directory

PYTHON_SYS ?= python3
VENV       ?= .venv
PY         ?= $(VENV)/bin/python
STAMP_ENV  := $(VENV)/.cartpool-env
# What report targets depend on for their environment; tests that reuse a built venv set it empty.
ENV_DEP    ?= $(STAMP_ENV)
REPORTS    ?= reports
BUILD      ?= build
SOURCES    ?= ../shared/seeds
export CARTPOOL_SOURCES := $(abspath $(SOURCES))
export PYTHONDONTWRITEBYTECODE :=
export MPLBACKEND := Agg
export PYDEVD_DISABLE_FILE_VALIDATION := 1
export JUPYTER_PLATFORM_DIRS := 1

STUDY_DIRS := $(sort $(wildcard data/studies/*/))
STUDIES    := $(patsubst data/studies/%/,%,$(STUDY_DIRS))
ALL_DATA   := $(wildcard data/studies/*/*) $(wildcard data/*.yaml)
# quotes are checked against the source documents: a changed source re-validates
SOURCE_DOCS := $(wildcard $(SOURCES)/*)
PKG_SRC    := $(shell find src/cartpool -name '*.py' -o -name '*.css' -o -name '*.j2' -o -name '*.json' | sort)
BUILD_DEPS := $(PKG_SRC) scripts/build.py $(ENV_DEP)

BROWSER    := $(or $(CARTPOOL_BROWSER),$(firstword $(shell command -v chromium chromium-browser google-chrome google-chrome-stable 2>/dev/null)))
STUDY_HTML := $(STUDIES:%=$(REPORTS)/%.html)
# The pooled report is the longest step: listed first, so that under -j it starts first
HTML       := $(REPORTS)/index.html $(REPORTS)/pooled.html $(STUDY_HTML)
PDFS       := $(if $(BROWSER),$(STUDY_HTML:.html=.pdf) $(REPORTS)/pooled.pdf)

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

# --- reports --------------------------------------------------------------------------------
# One build at a time per checkout: a second `make reports` waits for the first (build/.lock).
.PHONY: reports
reports: $(ENV_DEP) ## Build every report (HTML, and PDF where a Chromium is installed)
	@mkdir -p $(BUILD)
	@$(PY) scripts/build.py lock --warm --browser="$(BROWSER)" $(BUILD)/.lock $(MAKE) --no-print-directory _reports

.PHONY: _reports
_reports: $(HTML) $(PDFS) $(if $(BROWSER),,$(BUILD)/.pdfs-skipped-notice)

# Without a browser, say so once per build that rebuilt pages, never on a build with nothing to do.
$(BUILD)/.pdfs-skipped-notice: $(HTML)
	@echo "[cartpool] No Chromium or Chrome found: HTML reports are built, PDFs are skipped." \
	      "To get PDFs install one (Debian/Ubuntu: apt-get install chromium) or set CARTPOOL_BROWSER=/path/to/chrome."
	@touch $@

$(BUILD)/.validated: $(ALL_DATA) data/studies $(SOURCE_DOCS) $(BUILD_DEPS)
	@mkdir -p $(BUILD)
	@$(PY) scripts/build.py validate
	@touch $@

$(REPORTS)/%.html: $$(wildcard data/studies/$$*/*) notebooks/study.ipynb $(BUILD_DEPS) | $(BUILD)/.validated
	@$(PY) scripts/build.py --build-dir $(BUILD) study $* $@

$(REPORTS)/pooled.html: $(ALL_DATA) data/studies notebooks/pooled.ipynb $(BUILD_DEPS) | $(BUILD)/.validated
	@$(PY) scripts/build.py --build-dir $(BUILD) pooled $@

# The index links the PDFs only where they are built: a browser that appears or goes rewrites it.
PDF_STATE  := $(BUILD)/.pdfs-$(if $(BROWSER),built,absent)
$(BUILD)/.pdfs-%:
	@mkdir -p $(BUILD) && rm -f $(BUILD)/.pdfs-* && touch $@

$(REPORTS)/index.html: $(ALL_DATA) data/studies $(BUILD_DEPS) $(PDF_STATE) | $(BUILD)/.validated
	@$(PY) scripts/build.py index $@ $(if $(BROWSER),--pdf)

$(REPORTS)/%.pdf: $(REPORTS)/%.html
	@CARTPOOL_BROWSER=$(BROWSER) $(PY) scripts/build.py pdf $<

.PHONY: check
check: $(ENV_DEP) ## Validate the study data only (and that notebooks are committed without outputs)
	@$(PY) scripts/build.py validate
	@$(PY) scripts/build.py check-notebooks

.PHONY: new-study
new-study: $(ENV_DEP) ## Create a template study folder: make new-study ID=smith2027
	@$(PY) scripts/build.py new-study "$(ID)"

# --- tests ----------------------------------------------------------------------------------
.PHONY: test
test: $(ENV_DEP) ## Run the test suite (unit, statistics against R references, end-to-end build)
	@$(PY) scripts/build.py check-notebooks
	@$(VENV)/bin/ruff check --quiet src scripts tests
	@$(PY) -m pytest -q -p no:cacheprovider

.PHONY: bench
bench: $(ENV_DEP) ## Benchmark the pipeline and write docs/performance.md (about 20 minutes)
	@$(PY) scripts/bench.py --out docs/performance.md

.PHONY: fuzz
fuzz: $(ENV_DEP) ## Long fuzz campaign of the data loader (FUZZ_EXAMPLES=10000 by default)
	@FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-10000} $(PY) -m pytest -q -p no:cacheprovider tests/test_fuzz.py

.PHONY: lint
lint: $(ENV_DEP) ## ruff over the code
	@$(VENV)/bin/ruff check src scripts tests

.PHONY: lab
lab: $(ENV_DEP) ## Open the notebooks in JupyterLab (installs it into the environment first)
	@$(VENV)/bin/pip install --quiet jupyterlab
	@$(VENV)/bin/jupyter lab notebooks/

.PHONY: lock
lock: ## Re-resolve the pinned environment from pyproject.toml (needs network access to PyPI)
	@rm -rf $(BUILD)/lockenv && $(PYTHON_SYS) -m venv $(BUILD)/lockenv
	@$(BUILD)/lockenv/bin/pip install --quiet ".[test]"
	@{ echo "# Pinned environment for cartpool (build + tests). Regenerate with \`make lock\`."; \
	   echo "# Python 3.11. environment.yml names the same packages and versions (tests/test_env.py checks it)."; \
	   $(BUILD)/lockenv/bin/pip freeze --exclude cartpool; } > requirements.lock
	@echo "requirements.lock updated; update environment.yml to match (tests/test_env.py checks it)"

.PHONY: clean
clean: ## Remove generated reports and build files (keeps the environment)
	rm -rf $(REPORTS) $(BUILD)

.PHONY: distclean
distclean: clean ## Also remove the virtual environment
	rm -rf $(VENV)
