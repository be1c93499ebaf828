# Jiedui — `make run` starts the service with the demo district; `make test` runs the suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PG_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/test
# The generated world the benchmarks run on: district | 10x | 50x | province (bench/generate.py).
SCALE ?= district
CATALOGS := $(patsubst %.po,%.mo,$(wildcard core/translations/*/LC_MESSAGES/messages.po \
                                             plugins/*/translations/*/LC_MESSAGES/messages.po))
PLUGINS  := $(patsubst plugins/%/__init__.py,%,$(wildcard plugins/*/__init__.py))
AXE_VERSION := 4.10
AXE      := node_modules/axe-core/axe.min.js

.PHONY: run test test-fast test-sqlite test-postgres bench install translations extract \
        plugin-messages browser screenshots clean

run: install translations
	$(BIN)/jiedui run --demo

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,postgres,redis,serve]'
	touch $(STAMP)

translations: $(CATALOGS)

core/translations/%/LC_MESSAGES/messages.mo: core/translations/%/LC_MESSAGES/messages.po $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -d core/translations -l $* -i $< -o $@

# A plugin's own catalog (its Chinese names, labels and choices in English).
plugins/%/messages.mo: plugins/%/messages.po $(STAMP)
	$(BIN)/pybabel compile -i $< -o $@

# Refresh the core's catalog after changing UI strings (then translate the new entries).
# The plugins' strings are in their own catalogs: `make plugin-messages`.
extract: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k N_ -o core/translations/messages.pot --omit-header --sort-by-file core web
	$(BIN)/pybabel update -i core/translations/messages.pot -d core/translations --no-fuzzy-matching

# Refresh each in-repo plugin's English catalog from what it shows (then translate the new
# entries in plugins/<slug>/translations/en/LC_MESSAGES/messages.po and `make translations`).
plugin-messages: $(STAMP)
	for plugin in $(PLUGINS); do \
	  $(BIN)/jiedui plugin-messages $$plugin && \
	  $(BIN)/pybabel update -i plugins/$$plugin/translations/messages.pot -d plugins/$$plugin/translations -l en --no-fuzzy-matching || exit 1; \
	done

# Debian's chromium and a CJK font for the end-to-end tests (never `playwright install`),
# and axe-core from the npm registry for their accessibility checks (tests/e2e/pagecheck.py).
browser: $(AXE)
	@if ! command -v chromium >/dev/null || ! fc-list 2>/dev/null | grep -qi 'WenQuanYi Micro Hei'; then \
	  echo "installing chromium and fonts-wqy-microhei"; \
	  apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-wqy-microhei >/dev/null; \
	fi

$(AXE):
	@if ! command -v npm >/dev/null; then \
	  echo "installing npm"; \
	  apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q npm >/dev/null; \
	fi
	npm install --prefix . --no-save --no-package-lock --no-audit --no-fund axe-core@$(AXE_VERSION)

# The whole suite on SQLite (with the browser tests) and on PostgreSQL, side by side: each
# pass keeps one core busy. --output-sync prints each pass whole once it ends.
test: install translations browser
	@$(MAKE) --no-print-directory -j2 --output-sync=target test-sqlite test-postgres

# The quick loop: SQLite, no browser, none of the slow tests (demo loads, real consumers,
# real calendar clients, pip installs), on every core.
test-fast: install translations
	$(BIN)/pytest -q -x -m "not e2e and not slow" -n auto

test-sqlite:
	$(BIN)/pytest -q

# The same suite against PostgreSQL when it answers (required when JIEDUI_REQUIRE_SERVICES=1).
test-postgres:
	@if $(BIN)/python -c "import psycopg2; psycopg2.connect('$(PG_TEST_URL)', connect_timeout=3).close()" 2>/dev/null; then \
	  echo "== PostgreSQL run"; JIEDUI_TEST_DATABASE_URL=$(PG_TEST_URL) \
	    JIEDUI_TEST_REDIS_URL=redis://127.0.0.1:6379/14 $(BIN)/pytest -q -m "not e2e"; \
	elif [ -n "$$JIEDUI_REQUIRE_SERVICES" ]; then \
	  echo "PostgreSQL is not answering on $(PG_TEST_URL) and JIEDUI_REQUIRE_SERVICES is set"; exit 1; \
	else echo "== PostgreSQL not answering: skipped the PostgreSQL run"; fi

# The README's screenshots (a phone's pages, the charts at 1280 × 900), taken by the end-to-end
# tests that show those pages.
screenshots: install translations browser
	JIEDUI_UPDATE_SCREENSHOTS=1 $(BIN)/pytest -q tests/e2e/test_phone_home.py tests/e2e/test_resident.py \
	  tests/e2e/test_charts.py \
	  tests/e2e/test_desk.py::test_the_coordinators_desk_fits_three_screens_and_does_not_shift

# The ratio benchmarks (the foundation's on the demo, then every area's module on the generated
# world of SCALE: `make bench SCALE=province`), then the resident's page on 2G in chromium.
bench: install translations browser
	JIEDUI_BENCH_SCALE=$(SCALE) $(BIN)/python -m bench
	$(BIN)/python -m bench.slow_network

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache node_modules
