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

.PHONY: help install bench report test perf repro-seeds repro-baselines repro-images repro-images-cpu clean

help:
	@echo "make bench SUITE=mode_collapse [PROFILE=smoke|default|paper] [ARGS=\"--seeds 5 ...\"]"
	@echo "make report RUN=results/<suite>/<run_id>"
	@echo "make test"
	@echo "make perf        (timings under bench/perf/; not part of the tests)"
	@echo "make repro-seeds [OUT=results/repro] (the seed papers' 2-D checks, paper profile: about 1 h on 2 cores)"
	@echo "make repro-baselines [OUT=results/repro] (the papers' baseline rows, paper profile: about 3 h on 2 cores)"
	@echo "make repro-images [ADDRESS=host:port] [GPUS=0.25] [OUT=results/repro] (the papers' image experiments: a GPU cluster; README \"GPU-hours\")"
	@echo "make repro-images-cpu [OUT=results/repro] (MD-GAN Table 3 S1/4 and GM-GAN Fig. 7 cut to 2 cores: 2 h 10 min here, docs/reproductions.md)"

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
	$(PY) -m bench run --suite $(SUITE) --profile $(PROFILE) --fetch $(ARGS)

report: $(STAMP)
	@test -n "$(RUN)" || { echo "usage: make report RUN=results/<suite>/<run_id>" >&2; exit 2; }
	$(PY) -m bench report $(RUN)

# The report test opens index.html in headless Chromium: Debian's package, installed only when absent.
test: $(STAMP)
	@command -v chromium >/dev/null 2>&1 || { echo "== installing Debian's chromium for the report test"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	$(PY) -m pytest -n 2 --dist loadfile --durations=15 $(TEST_ARGS)

perf: $(STAMP)
	$(PY) -m bench.perf.run_all

# The seed papers' 2-D checks (issue "The five seed methods") and the baselines the papers' tables name (issue
# "Baselines"): each subset runs under its dataset's source protocol (the paper profile of mode_collapse), then
# one merged report per target. Not part of `make test`. REPRO_PROFILE=smoke runs the same plan in a minute or two.
OUT ?= results/repro
REPRO_PROFILE ?= paper
REPRO_RUN = $(PY) -m bench run --suite mode_collapse --profile $(REPRO_PROFILE) --out $(OUT) --no-report
repro-seeds: $(STAMP)
	-$(REPRO_RUN) --methods mdgan,deligan,gan,oracle,collapsed --datasets grid25,ring8_mdgan
	-$(REPRO_RUN) --methods mgan,gan,oracle,collapsed --datasets ring8_mgan
	-$(REPRO_RUN) --methods gmgan_static,gan,oracle,collapsed --datasets gm9
	$(PY) -m bench report $$(ls -d $(OUT)/mode_collapse/*/ | tail -n 3) --out $(OUT)/report

# MD-GAN's Tables 1-2 baselines under MD-GAN's protocol, MGAN Fig. 2's on MGAN's ring (about 3 h on 2 cores).
repro-baselines: $(STAMP)
	-$(REPRO_RUN) --methods infogan,sngan,veegan,unrolled_gan --datasets grid25,ring8_mdgan
	-$(REPRO_RUN) --methods d2gan,unrolled_gan --datasets ring8_mgan
	$(PY) -m bench report $$(ls -d $(OUT)/mode_collapse/*/ | tail -n 2) --out $(OUT)/report_baselines

# The seed papers' image experiments (issue "Images, part 3"): MD-GAN Table 3 (suites/stacked_mnist.yaml `paper`),
# the image protocols of suites/images.yaml `paper` and GM-GAN Table 2's K = 20 / 30, then one report. They need the
# datasets (`bench data check NAME`), torch-fidelity's Inception weights and GPUs: ADDRESS=host:port (or auto) runs
# them on an existing Ray cluster, GPUS=0.25 packs four trials on a GPU (docs/cluster.md "Sizing a GPU fraction").
# README "GPU-hours" estimates what each costs. REPRO_PROFILE=smoke runs the same targets' smoke profiles in minutes;
# ARGS="--inception-weights PATH --data-root DIR" adds flags to every run; MNIST is fetched when missing (--fetch).
CLUSTER_ARGS = $(if $(ADDRESS),--address $(ADDRESS)) $(if $(GPUS),--gpus-per-trial $(GPUS))
IMAGE_RUN = $(PY) -m bench run --out $(OUT) --no-report --fetch $(CLUSTER_ARGS) $(ARGS)
# The report reads only the run folders this invocation created (newer than its start mark): a run refused before it
# starts (exit 2: missing data or weights) writes no folder, and an older run under OUT must not stand in for it.
NEW_RUNS = find $(OUT)/stacked_mnist $(OUT)/images -mindepth 1 -maxdepth 1 -type d -newer $(OUT)/.$@.start 2>/dev/null | sort
repro-images: $(STAMP)
	@mkdir -p $(OUT) && touch $(OUT)/.$@.start
	-$(IMAGE_RUN) --suite stacked_mnist --profile $(REPRO_PROFILE)
	-$(IMAGE_RUN) --suite images --profile $(REPRO_PROFILE)
	$(if $(filter paper,$(REPRO_PROFILE)),-$(IMAGE_RUN) --suite images --profile paper_gmgan_k20)
	$(if $(filter paper,$(REPRO_PROFILE)),-$(IMAGE_RUN) --suite images --profile paper_gmgan_k30)
	$(PY) -m bench report $$($(NEW_RUNS)) --out $(OUT)/report_images

# What this 2-core VM can reproduce of them (docs/reproductions.md): MD-GAN Table 3's S1/4 column (stacked_mnist
# `cpu_s14`: 9 methods x 3 seeds) and GM-GAN Fig. 7's quality-diversity curves of GM-GAN vs GAN on digits and MNIST
# (images `qd_cpu`). Needs MNIST (fetched when missing); no Inception, no GPU.
repro-images-cpu: $(STAMP)
	@mkdir -p $(OUT) && touch $(OUT)/.$@.start
	-$(IMAGE_RUN) --suite stacked_mnist --profile cpu_s14
	-$(IMAGE_RUN) --suite images --profile qd_cpu
	$(PY) -m bench report $$($(NEW_RUNS)) --out $(OUT)/report_images_cpu

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
