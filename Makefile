# Two commands set up everything: `make serve` runs the product, `make test` runs every test.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: test serve site check preview diff lint bench system-deps clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check --upgrade pip
	$(VENV)/bin/pip install -q --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

# Debian's Chromium for browser tests and CJK fonts for readable screenshots (root only).
system-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	  else echo "chromium is not installed and we are not root: browser tests will be skipped"; fi; \
	fi

check: $(STAMP)
	$(PY) -m service_rules check

site: $(STAMP)
	$(PY) -m build_scripts

# Python keeps its bytecode (in __pycache__, ignored by git) even where the machine sets
# PYTHONDONTWRITEBYTECODE: each test worker and each server or CLI a test starts would otherwise
# compile the app and the tests again (about 4 s of CPU per worker before the first test runs).
test: $(STAMP) system-deps
	env -u PYTHONDONTWRITEBYTECODE $(VENV)/bin/pytest -n 3 --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

serve: $(STAMP) site
	$(PY) -m forms_app --host $(HOST) --port $(PORT)

preview: $(STAMP)
	$(PY) -m build_scripts.preview --host $(HOST) --port $(PORT)

diff: $(STAMP)
	$(PY) -m service_rules diff

lint: $(STAMP)
	$(VENV)/bin/ruff check .

bench: $(STAMP)
	for b in benchmarks/*.py; do $(PY) $$b || exit 1; done

clean:
	rm -rf site docs/services docs/generated instance
