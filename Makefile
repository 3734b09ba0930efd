# modebench: `make bench SUITE=mode_collapse`, `make test`, `make report RUN=results/<suite>/<run_id>`.
# Every target creates .venv on first use and installs the project with the exact versions of
# constraints.txt. The install is stamped with a hash of the dependency files, so a second run does not
# reinstall; editing pyproject.toml or constraints.txt triggers exactly one reinstall. The editable install
# is in "compat" mode (a .pth with the project root), so the top-level `methods` package is found on sys.path
# before any same-named folder (e.g. tests/methods/) can shadow it.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
SUITE ?= mode_collapse
PROFILE ?= default
ARGS ?=
RUN ?=
TEST_ARGS ?=

# Bump INSTALL_RECIPE when the install command below changes, so existing venvs reinstall once.
INSTALL_RECIPE := 2
DEPS_HASH := $(shell { cat pyproject.toml constraints.txt; echo "recipe $(INSTALL_RECIPE)"; } | sha256sum | cut -c1-16)
STAMP := $(VENV)/.modebench-installed-$(DEPS_HASH)
PY := $(VENV)/bin/python

.PHONY: help install bench report test perf clean

help:
	@echo "make bench SUITE=mode_collapse [PROFILE=smoke|default|paper] [ARGS=\"--seeds 5 ...\"]"
	@echo "make report RUN=results/<suite>/<run_id>"
	@echo "make test"
	@echo "make perf        (timings under bench/perf/; not part of the tests)"

install: $(STAMP)

$(STAMP):
	@echo "== installing modebench into $(VENV) (dependency hash $(DEPS_HASH))"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@start=$$(date +%s); \
	$(PY) -m pip install --disable-pip-version-check -q -c constraints.txt \
	  --config-settings editable_mode=compat -e '.[test]' 2>&1 \
	  | { grep -v "is ignored: it is neither a file nor a directory" || true; }; \
	test $${PIPESTATUS[0]} -eq 0 \
	  && rm -f $(VENV)/.modebench-installed-* && touch $@ \
	  && echo "== installed in $$(( $$(date +%s) - start )) s"

bench: $(STAMP)
	$(PY) -m bench run --suite $(SUITE) --profile $(PROFILE) $(ARGS)

report: $(STAMP)
	@test -n "$(RUN)" || { echo "usage: make report RUN=results/<suite>/<run_id>" >&2; exit 2; }
	$(PY) -m bench report $(RUN)

test: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadgroup $(TEST_ARGS)

perf: $(STAMP)
	$(PY) -m bench.perf.run_all

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
