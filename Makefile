# certwarden.exchange — every entry point a developer or CI needs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LAB_DIR ?= .lab
SCENARIO ?= field
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: help venv system-deps lint sanity unit integration molecule properties test demo lab lab-stop bench build clean

help:
	@echo "make demo   set up, start the lab with the field scenarios, run the nightly check"
	@echo "make test   set up, then every test suite and lint"
	@echo "make lab / make lab-stop   start / stop the simulated Exchange lab"
	@echo "make bench  run the benchmarks (writes bench/results/)"
	@echo "make build  ansible-galaxy collection build into build/"
	@echo "make changelog   changelogs/changelog.yaml and CHANGELOG.rst from the fragments"

# The Debian packages first: pykerberos and gssapi (the transports) build against libkrb5-dev.
$(STAMP): pyproject.toml
	bash tests/support/ensure-system-deps.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $@

venv: $(STAMP)

# ansible-core 2.17 and 2.18 in .venv-compat/<version>/ for the release matrix test
# (tests/fleet/test_release_matrix.py builds them itself when missing; this prebuilds them).
compat: venv
	$(BIN)/python -m tests.support.compat_venv 2.17 2.18

# Debian packages the tests use (postfix for the TLS probe, chromium for the
# HTML report); installed only when missing.
system-deps:
	@bash tests/support/ensure-system-deps.sh

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check plugins tests bench
	bash tests/support/ansible-lint.sh

sanity: venv
	bash tests/support/sanity.sh

unit: venv
	$(BIN)/pytest -q -n 2 tests/unit tests/contract

integration: venv system-deps
	$(BIN)/pytest -q -n 2 tests/integration tests/evidence tests/fleet tests/reliability

molecule: venv
	bash tests/support/molecule.sh

# The planner's property suite again under a few fixed seeds: more examples than the one
# derandomised CI draw, and still the same examples on every run (never a flaky build).
PROPERTY_SEEDS ?= 1 2 3 4 5
properties: venv
	for seed in $(PROPERTY_SEEDS); do \
		HYPOTHESIS_PROFILE=dev $(BIN)/pytest -q -p no:cacheprovider --hypothesis-seed=$$seed \
			tests/unit/plugin_utils/_engine/plan/test_planner_properties.py || exit 1; \
	done

# Everything: lint, ansible-test sanity, the Molecule scenarios, then every
# pytest suite (unit, contract, evidence, integration against the lab, fleet,
# reliability, bench smoke); pytest's summary line closes the output.
test: venv system-deps compat lint sanity properties
	bash tests/support/molecule.sh
	$(BIN)/pytest -q -n 2 tests

lab: venv
	$(BIN)/python -m tests.lab start --dir $(LAB_DIR) --scenario $(SCENARIO) --transports --inventory inventories/lab/hosts.yml

lab-stop: venv
	$(BIN)/python -m tests.lab stop --dir $(LAB_DIR)

demo: venv
	bash tests/support/demo.sh

bench: venv system-deps
	$(BIN)/python -m bench

# changelogs/changelog.yaml and CHANGELOG.rst for the version in galaxy.yml, from every fragment
# (changelogs/config.yaml keeps them), so it can run again whenever a fragment is added.
RELEASE_DATE ?= 2026-12-01
changelog: venv
	rm -f changelogs/changelog.yaml CHANGELOG.rst
	$(BIN)/antsibull-changelog release --version $$(sed -n 's/^version: //p' galaxy.yml) --date $(RELEASE_DATE)

build: venv
	$(BIN)/ansible-galaxy collection build --force --output-path build .

clean:
	rm -rf build .pytest_cache .ruff_cache .hypothesis
