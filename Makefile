# Micrographia: one entry point for setting up, running, testing and measuring.
#
#   make run     set up (idempotent) and run all five services and the edge
#   make test    set up and run the test suite
#   make test-quick  the suite without the slow tests (browser, real network, scale)
#   make bench   set up and run the benchmarks (BENCH_ARGS=--small: each on small data)
#   make lint    ruff, and hadolint on the Dockerfile
#   make protos  regenerate the gRPC Python code from protos/
#   make web     the web app's npm assets (web/node_modules, from package-lock.json)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

export MICROGRAPHIA_DATA_ROOTS ?= $(CURDIR)/var/data
export MICROGRAPHIA_SLIDES_DIR ?= $(CURDIR)/var/slides
# Tests and benchmarks share the settings above; the suite makes its own database.

SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup run test test-quick bench bench-tools browser-tools web lint format protos database clean

setup: $(STAMP) database web browser-tools

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[all,dev]"
	# tiatoolbox's opencv-python and Cellpose's opencv-python-headless share `cv2`: one version.
	$(BIN)/python scripts/check_cv2.py
	rm -f $(VENV)/.installed-* && touch $@

# PostgreSQL + PostGIS and the micrographia database, installed when missing.
database: $(STAMP)
	$(BIN)/python scripts/provision_db.py

run: setup
	mkdir -p "$(MICROGRAPHIA_SLIDES_DIR)" $(subst :, ,$(MICROGRAPHIA_DATA_ROOTS))
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start -f Procfile

# The suite in PYTEST_WORKERS processes, each with its own platform and database
# (a module's tests stay together). Three on two cores: much of the suite waits on
# services, browsers and restarts (measured: 385 s with three, 410 s with two).
PYTEST_WORKERS ?= 3
XDIST := -n $(PYTEST_WORKERS) --dist loadfile

test: setup
	$(BIN)/python -m pytest $(XDIST) $(PYTEST_ARGS)

# Browser, real-network and scale tests are all marked slow (pyproject.toml's markers).
test-quick: setup
	$(BIN)/python -m pytest $(XDIST) -m "not slow" $(PYTEST_ARGS)

bench: setup bench-tools
	$(BIN)/python -m benchmarks $(BENCH_ARGS) $(BENCH)

# wrk (Debian) drives HTTP load without taking the CPU the measured processes need.
bench-tools:
	command -v wrk >/dev/null || ($(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q wrk)

# The web app's assets (OpenSeadragon) come from npm, so the app works offline.
web: web/node_modules/.package-lock.json

web/node_modules/.package-lock.json: web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	touch $@

# Debian's Chromium drives the browser tests (Playwright, no browser download).
browser-tools:
	command -v chromium >/dev/null || ($(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/hadolint Dockerfile

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

protos: $(STAMP)
	$(BIN)/python scripts/gen_protos.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info web/node_modules
