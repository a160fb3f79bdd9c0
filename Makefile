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
LAB_VENV   ?= .venv-lab
# Three pinned groups, each with hashes (requirements/*.lock): build, test (build + test tools),
# lab (build + JupyterLab, in its own environment). The package itself is installed editable.
STAMP_ENV  := $(VENV)/.cartpool-env
STAMP_TEST := $(VENV)/.cartpool-test
STAMP_LAB  := $(LAB_VENV)/.cartpool-lab
# What report targets depend on for their environment; tests that reuse a built venv set it empty.
ENV_DEP    ?= $(STAMP_ENV)
TEST_DEP   ?= $(STAMP_TEST)
REPORTS    ?= reports
BUILD      ?= build
# The source documents every quote is checked against (data/README.md, "Sources"): SOURCES=dir, or
# several folders separated by ':', given to make wins; else CARTPOOL_SOURCES from the environment;
# else ../shared/seeds. Relative folders are taken from this directory.
space      := $(subst ,, )
ifneq ($(strip $(SOURCES)),)
  CARTPOOL_SOURCES := $(subst $(space),:,$(abspath $(patsubst ~/%,$(HOME)/%,$(subst :, ,$(SOURCES)))))
else ifeq ($(strip $(CARTPOOL_SOURCES)),)
  CARTPOOL_SOURCES := $(abspath ../shared/seeds)
endif
export CARTPOOL_SOURCES
export PYTHONDONTWRITEBYTECODE :=
export MPLBACKEND := Agg
export PYDEVD_DISABLE_FILE_VALIDATION := 1
export JUPYTER_PLATFORM_DIRS := 1

BROWSER    := $(or $(CARTPOOL_BROWSER),$(firstword $(shell command -v chromium chromium-browser google-chrome google-chrome-stable 2>/dev/null)))

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

# --- environment: virtual environments from the pinned, hashed locks, remade when a lock changes --
# uv installs the locks (hashes checked), itself pinned and hashed in requirements/uv.lock and
# installed by pip into the venv first; where uv cannot be installed or fails, pip installs the
# same lock (slower, same packages). CARTPOOL_INSTALLER=pip forces pip. uv writes no bytecode and
# the shell may set PYTHONDONTWRITEBYTECODE (../shared/NOTES.md), so the venv is compiled here, all
# of it but the packages' own test suites (half the files, never imported by a build).
PIP_QUIET  := 2>&1 | { grep -v "is neither a file nor a directory" || true; }
INSTALLER  ?= $(or $(CARTPOOL_INSTALLER),uv)
COMPILE_PYC = $(1)/bin/python -m compileall -q -j 0 -x '/tests?/|/testing/' $(1)/lib >/dev/null
# $(call install_lock,DIR,LOCK): LOCK's packages into the venv DIR, hashes required
define install_lock
	@if [ "$(INSTALLER)" = uv ] \
	    && $(1)/bin/pip install --quiet --require-virtualenv --require-hashes --no-deps -r requirements/uv.lock >/dev/null 2>&1 \
	    && $(1)/bin/uv pip install --quiet --python $(1)/bin/python --require-hashes --no-deps -r $(2); then \
	  $(call COMPILE_PYC,$(1)) || true; \
	else \
	  [ "$(INSTALLER)" = uv ] && echo "[setup] uv unavailable here: installing $(2) with pip (slower)"; \
	  $(1)/bin/pip install --quiet --require-virtualenv --require-hashes --no-deps -r $(2) $(PIP_QUIET); \
	fi
endef
# $(call new_venv,DIR,LOCK): a fresh venv with LOCK's packages (hashes checked) and cartpool editable
define new_venv
	@$(PYTHON_SYS) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "cartpool needs Python 3.11 or newer; found " + sys.version.split()[0])'
	@rm -rf $(1)
	@$(PYTHON_SYS) -m venv $(1)
	$(call install_lock,$(1),$(2))
	@$(1)/bin/pip install --quiet --require-virtualenv --no-deps --no-build-isolation -e . $(PIP_QUIET)
	@$(1)/bin/python -m ipykernel install --sys-prefix --name python3 >/dev/null
endef

$(STAMP_ENV): requirements/build.lock requirements/uv.lock pyproject.toml
	@echo "[setup] creating $(VENV) from requirements/build.lock (first run only, about 20 seconds)"
	$(call new_venv,$(VENV),requirements/build.lock)
	@touch $@

$(STAMP_TEST): $(STAMP_ENV) requirements/test.lock
	@echo "[setup] adding the test tools to $(VENV) from requirements/test.lock"
	$(call install_lock,$(VENV),requirements/test.lock)
	@touch $@

$(STAMP_LAB): requirements/lab.lock requirements/uv.lock pyproject.toml
	@echo "[setup] creating $(LAB_VENV) (JupyterLab) from requirements/lab.lock (first run only)"
	$(call new_venv,$(LAB_VENV),requirements/lab.lock)
	@touch $@

.PHONY: env
env: $(STAMP_ENV) ## Create the virtual environment (done automatically by other targets)

# --- reports ---------------------------------------------------------------------------------
# Content, not clocks (src/cartpool/builder/stamps.py): `build.py build` hashes each step's inputs
# and outputs, writes the steps that must run to $(BUILD)/plan.mk, runs make on them, then checks
# every promised file. make still orders and runs the steps (-j2 included); timestamps decide
# nothing. Studies are the folders under data/studies/; the plan lists them.
# One build at a time per checkout: a second `make reports` waits for the first (build/.lock).
BUILD_CMD   = $(PY) scripts/build.py --build-dir $(BUILD) build --browser="$(BROWSER)" --reports $(REPORTS)
.PHONY: reports
reports: $(ENV_DEP) ## Build every report (HTML, and PDF where a Chromium is installed)
	@$(BUILD_CMD) --lock $(BUILD)/.lock --warm -- $(MAKE) --no-print-directory _steps

# The same, without the lock and the warm worker
.PHONY: _reports
_reports:
	@$(BUILD_CMD) -- $(MAKE) --no-print-directory _steps

-include $(BUILD)/plan.mk
.PHONY: _steps FORCE
_steps: $(addprefix $(REPORTS)/,$(PLAN_PAGES))
# the stale steps, by content: a phony prerequisite makes make run them whatever the times say
$(addprefix $(REPORTS)/,$(PLAN_STALE)) $(if $(PLAN_VALIDATE),$(BUILD)/.validated) $(BUILD)/.plan-never-built: FORCE
FORCE:

$(BUILD)/.validated:
	@$(PY) scripts/build.py --build-dir $(BUILD) validate --record

$(REPORTS)/%.html: | $(BUILD)/.validated
	@$(PY) scripts/build.py --build-dir $(BUILD) study $* $@

$(REPORTS)/pooled.html: | $(BUILD)/.validated
	@$(PY) scripts/build.py --build-dir $(BUILD) pooled $@

# The index opens with the synthesis's bottom line, which the pooled step writes (tables/pooled-bottom-line.csv).
$(REPORTS)/index.html: | $(BUILD)/.validated $(REPORTS)/pooled.html
	@$(PY) scripts/build.py --build-dir $(BUILD) index $@ $(if $(BROWSER),--pdf)

$(REPORTS)/%.pdf: | $(REPORTS)/%.html
	@CARTPOOL_BROWSER=$(BROWSER) $(PY) scripts/build.py --build-dir $(BUILD) pdf $(REPORTS)/$*.html

# A release records the review as the current reports show it (data/releases/<date>.yaml, to commit);
# it refuses while validation fails or a report is stale. NOTE="..." says what the release is.
.PHONY: release
release: $(ENV_DEP) ## Record the review's current state as a dated release (data/releases/); NOTE="why"
	@$(PY) scripts/build.py --build-dir $(BUILD) release --browser="$(BROWSER)" --reports $(REPORTS) --note "$(NOTE)"

.PHONY: check
check: $(ENV_DEP) ## Validate the study data only (and that notebooks are committed without outputs)
	@$(PY) scripts/build.py validate
	@$(PY) scripts/build.py check-notebooks

.PHONY: judgements
judgements: $(ENV_DEP) ## Print the GRADE proposals and evidence fingerprints of judgements awaiting review
	@$(PY) scripts/build.py judgements

.PHONY: new-study
new-study: $(ENV_DEP) ## Create a template study folder: make new-study ID=smith2027
	@$(PY) scripts/build.py new-study "$(ID)"

# --- tests ----------------------------------------------------------------------------------
# Both run in parallel on every core (pytest-xdist; each worker builds in its own temporary project,
# and tests that share one build stay on one worker). test-fast leaves out the tests marked slow
# (full builds, browsers): under a minute on 2 free cores. Tests marked serial (they time a signal
# against a running build) run afterwards on their own, with no other test loading the machine.
TEST_JOBS  ?= auto
PYTEST      = $(PY) -m pytest -q -p no:cacheprovider

.PHONY: test
test: $(TEST_DEP) ## Run the whole test suite, as CI does (unit, statistics against R references, end-to-end builds)
	@$(PY) scripts/build.py check-notebooks
	@$(VENV)/bin/ruff check --quiet src scripts tests
	@$(PY) scripts/dead_code.py
	@$(PYTEST) -n $(TEST_JOBS) --dist loadgroup -m "not serial"
	@$(PYTEST) -m serial

.PHONY: test-fast
test-fast: $(TEST_DEP) ## The tests without full builds or browsers (under a minute): the loop while editing
	@$(VENV)/bin/ruff check --quiet src scripts tests
	@$(PYTEST) -n $(TEST_JOBS) --dist loadgroup -m "not slow"

.PHONY: bench
bench: $(TEST_DEP) ## Benchmark the pipeline and write docs/performance.md (about 20 minutes)
	@$(PY) scripts/bench.py --out docs/performance.md

.PHONY: fuzz
fuzz: $(TEST_DEP) ## Long fuzz campaign of the data loader (FUZZ_EXAMPLES=10000 by default)
	@FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-10000} $(PY) -m pytest -q -p no:cacheprovider tests/test_fuzz.py

.PHONY: lint
lint: $(TEST_DEP) ## ruff over the code, and vulture for code that nothing calls (scripts/dead_code.py)
	@$(VENV)/bin/ruff check src scripts tests
	@$(PY) scripts/dead_code.py

.PHONY: lab
lab: $(STAMP_LAB) ## Open the notebooks in JupyterLab (its own pinned environment, .venv-lab)
	@$(LAB_VENV)/bin/jupyter lab notebooks/

# uv resolves; build comes first and constrains the other two, so shared packages agree. Each lock is
# its own preference: re-locking keeps every pin that still fits and changes only what must change.
# uv itself comes from requirements/uv.lock (pinned, hashed), which pins the uv that wrote it.
UV_COMPILE = $(BUILD)/lockenv/bin/uv pip compile --quiet --generate-hashes --no-header \
             --annotation-style line --python-version 3.11.7 --python-platform x86_64-manylinux_2_28
define compile_lock
	@cp requirements/$(1).lock requirements/$(1).lock.new 2>/dev/null || true
	@$(UV_COMPILE) $(2) -o requirements/$(1).lock.new
	@{ echo "# cartpool, $(1) group: every package pinned with its hashes (pip install --require-hashes)."; \
	   echo "# Generated by \`make lock\` from pyproject.toml with uv pip compile; do not edit."; \
	   grep -v '^#' requirements/$(1).lock.new; } > requirements/$(1).lock && rm requirements/$(1).lock.new
endef

.PHONY: lock
lock: ## Re-resolve the pinned groups (requirements/*.lock) and environment.yml from pyproject.toml (needs PyPI)
	@rm -rf $(BUILD)/lockenv && $(PYTHON_SYS) -m venv $(BUILD)/lockenv
	@$(BUILD)/lockenv/bin/pip install --quiet --require-hashes --no-deps -r requirements/uv.lock $(PIP_QUIET) \
	  || $(BUILD)/lockenv/bin/pip install --quiet uv $(PIP_QUIET)
	$(call compile_lock,build,pyproject.toml)
	$(call compile_lock,test,pyproject.toml --extra test -c requirements/build.lock)
	$(call compile_lock,lab,pyproject.toml --extra interactive -c requirements/build.lock)
	@echo "uv==$$($(BUILD)/lockenv/bin/uv --version | cut -d' ' -f2)" > $(BUILD)/lockenv/uv.in
	$(call compile_lock,uv,$(BUILD)/lockenv/uv.in)
	@$(PYTHON_SYS) scripts/make_environment.py
	@echo "requirements/build.lock, test.lock, lab.lock, uv.lock and environment.yml updated"

.PHONY: clean
clean: ## Remove generated reports and build files (keeps the environment)
	rm -rf $(REPORTS) $(BUILD)

.PHONY: distclean
distclean: clean ## Also remove the virtual environments
	rm -rf $(VENV) $(LAB_VENV)
