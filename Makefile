# The two commands a newcomer needs: `make demo` and `make test`.
# Everything else here is what those two are made of.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
# Base images to build: Debian 12 and 13 (every scenario uses both or 13).
RELEASES ?= 12 13
# Minimal images (minbase + python3): the cluster scenario's app2 host.
MINIMAL_RELEASES ?= 12
# Scenarios `make molecule` runs (demo is not a test).
SCENARIOS ?= default unix cluster
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
# molecule calls ansible-playbook and friends by name.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: help venv images images-minimal demo demo-destroy status bench test unit lint role-docs molecule clean

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(BIN)/molecule: requirements-dev.txt app/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/ansible-galaxy collection install -r requirements.yml >/dev/null
	touch $@

venv: $(BIN)/molecule  ## Pinned controller tools in .venv

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

unit: venv  ## App unit tests and controller-side filter tests
	$(BIN)/pytest -q -p no:cacheprovider app/tests plugins/tests roles/stack/tests roles/app/tests roles/status/tests

lint: venv  ## yamllint, ansible-lint (production profile), ruff
	$(BIN)/yamllint --strict .
	$(BIN)/ansible-lint --profile production
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python .ci/role_docs.py --check

role-docs: venv  ## Regenerate roles/*/README.md from meta/argument_specs.yml
	$(BIN)/python .ci/role_docs.py

molecule: venv images images-minimal  ## Every molecule scenario, side by side (Debian 12 and 13 hosts in each single-host one)
	bash molecule/common/run-scenarios.sh $(SCENARIOS)

bench: venv  ## Benchmark against nginx alone, the seed's uWSGI and gunicorn (docs/performance.md); not part of test
	@command -v wrk >/dev/null && command -v nsenter >/dev/null || { echo "make bench needs wrk and nsenter: apt-get install wrk util-linux"; exit 1; }
	@$(MAKE) --no-print-directory images RELEASES=$${FLASK_APP_DEBIAN:-13}
	$(BIN)/python molecule/bench/bench.py $(BENCH_ARGS)

test: lint unit molecule  ## Everything: lint, unit tests, molecule scenarios

clean:  ## Remove caches (not the venv or images)
	rm -rf .cache .pytest_cache .ruff_cache
