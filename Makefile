# The two commands a newcomer needs: `make demo` and `make test`.
# Everything else here is what those two are made of.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
# The pins the venv gets. requirements-legacy.txt is the previous controller
# (ansible-core 2.19 on Python 3.11), which stays supported (README.md).
REQUIREMENTS ?= requirements-dev.txt
# The controller's Python: 3.13, else 3.12 (ansible-core 2.21 needs >= 3.12),
# on PATH or built by pyenv; .ci/find-python.sh says what it tried when none.
# PYTHON=/path/to/python overrides the search.
PYTHON ?= $(shell bash .ci/find-python.sh 3.13 3.12)
BIN := $(VENV)/bin
# The legacy controller in a venv of its own: `make test` runs the scenarios
# in LEGACY_SCENARIOS with it, the others with $(VENV), side by side.
LEGACY_VENV ?= .venv-legacy
LEGACY_PYTHON ?= $(shell bash .ci/find-python.sh 3.11 3.12 3.13)
LEGACY_SCENARIOS ?= cluster
# Base images to build: Debian 12 and 13 (every scenario uses both or 13).
RELEASES ?= 12 13
# Minimal images (minbase + python3): the cluster scenario's app2 host.
MINIMAL_RELEASES ?= 12
# Scenarios `make molecule` runs (demo is not a test).
SCENARIOS ?= default unix cluster
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
# molecule calls ansible-playbook and friends by name.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: help venv legacy-venv images images-minimal demo demo-destroy status bench test unit lint role-docs molecule clean

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

# --clear: a venv made by another Python (or other pins) starts over.
$(BIN)/molecule: $(REQUIREMENTS) app/requirements.txt
	@python="$(PYTHON)"; [[ -n $$python ]] || exit 1; \
	 echo "$$python -m venv --clear $(VENV)  # $$($$python --version)"; \
	 $$python -m venv --clear $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --no-compile -r $(REQUIREMENTS)
	@# Bytecode for what the controller imports, on every CPU; not for the ~12,600
	@# files of the ansible package's collections that nothing here uses. Kept:
	@# requirements.yml's collections and community.docker (molecule's docker
	@# driver). These machines set PYTHONDONTWRITEBYTECODE: nothing compiled later
	@# is kept (docs/testing.md).
	$(BIN)/python -m compileall -q -j 0 \
	  -x 'site-packages/ansible_collections/(?!(ansible/posix|community/general|community/docker)/)' $(VENV)/lib
	$(BIN)/ansible-galaxy collection install -r requirements.yml >/dev/null
	touch $@

venv: $(BIN)/molecule  ## Pinned controller tools in .venv (VENV=, REQUIREMENTS=, PYTHON= to choose)

legacy-venv:  ## ansible-core 2.19 on Python 3.11 in .venv-legacy (requirements-legacy.txt)
	@$(MAKE) --no-print-directory venv VENV=$(LEGACY_VENV) REQUIREMENTS=requirements-legacy.txt PYTHON=$(LEGACY_PYTHON)

images:  ## Build the local Debian base images (skipped when present)
	@for release in $(RELEASES); do \
	  case $$release in 12) name=bookworm ;; 13) name=trixie ;; esac; \
	  bash molecule/common/build-image.sh $$name flask-app-debian:$$release; \
	done

images-minimal:  ## Build the minimal (minbase + python3) base images the cluster scenario uses
	@for release in $(MINIMAL_RELEASES); do \
	  case $$release in 12) name=bookworm ;; 13) name=trixie ;; esac; \
	  bash molecule/common/build-image.sh $$name flask-app-debian-minimal:$$release minimal; \
	done

demo: venv  ## Deploy the stack to a local systemd container and print its URL
	@$(MAKE) --no-print-directory images RELEASES=$${FLASK_APP_DEBIAN:-13}
	$(BIN)/molecule converge -s demo
	@echo; echo "flask_app demo is up: http://127.0.0.1:$${FLASK_APP_DEMO_PORT:-8000}/"; \
	 echo "Tear it down with: make demo-destroy"

status: venv  ## Health report of the demo host (playbooks/status.yml, read-only)
	$(BIN)/molecule side-effect -s demo

demo-destroy: venv  ## Remove the demo container
	$(BIN)/molecule destroy -s demo

unit: venv  ## Unit tests: the app, the plugins (plugins/tests) and each role (roles/*/tests)
	$(BIN)/pytest -q -p no:cacheprovider app/tests plugins/tests roles/*/tests

lint: venv  ## yamllint, ansible-lint (production profile), ruff
	$(BIN)/yamllint --strict .
	$(BIN)/ansible-lint --profile production
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python .ci/role_docs.py --check
	$(BIN)/python .ci/service_docs.py --check

role-docs: venv  ## Regenerate roles/*/README.md from meta/argument_specs.yml
	$(BIN)/python .ci/role_docs.py

molecule: venv legacy-venv images images-minimal  ## Every molecule scenario, side by side; LEGACY_SCENARIOS (cluster) on the legacy controller
	VENV=$(VENV) LEGACY_VENV=$(LEGACY_VENV) LEGACY_SCENARIOS="$(LEGACY_SCENARIOS)" \
	  bash molecule/common/run-scenarios.sh $(SCENARIOS)

bench: venv  ## Benchmark against nginx alone, the seed's uWSGI and gunicorn (docs/performance.md); not part of test
	@command -v wrk >/dev/null && command -v nsenter >/dev/null || { echo "make bench needs wrk and nsenter: apt-get install wrk util-linux"; exit 1; }
	@$(MAKE) --no-print-directory images RELEASES=$${FLASK_APP_DEBIAN:-13}
	$(BIN)/python molecule/bench/bench.py $(BENCH_ARGS)

# The base images (debootstrap: mostly downloads) and the legacy venv are
# built in the background while lint and unit, side by side (one CPU each,
# each one's output shown whole), keep the CPUs busy; the background's output
# goes to .cache/logs/prepare.log, shown when it fails.
test: venv  ## Everything: lint, unit tests, molecule scenarios
	@mkdir -p .cache/logs; \
	 $(MAKE) --no-print-directory images images-minimal legacy-venv >.cache/logs/prepare.log 2>&1 & prepare=$$!; \
	 $(MAKE) --no-print-directory --jobs=2 --output-sync=target lint unit; checks=$$?; \
	 wait $$prepare || { echo "make test: building the images or the legacy venv failed:"; tail -n 40 .cache/logs/prepare.log; exit 1; }; \
	 ((checks == 0)) || exit $$checks; \
	 $(MAKE) --no-print-directory molecule

clean:  ## Remove caches (not the venv or images)
	rm -rf .cache .pytest_cache .ruff_cache
