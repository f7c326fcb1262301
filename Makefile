# The README's two commands: `make run` (chat with the bot) and `make test` (every test).
# Both set up what they need on a fresh machine; nothing else has to be installed first.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SYNAPSE_VENV := .venv-synapse

.PHONY: run test test-postgres test-dates lint bench bench-postgresql check schema clean system-deps

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

$(SYNAPSE_VENV)/.installed:
	SYNAPSE_VENV=$(SYNAPSE_VENV) bash .ci/install-synapse
	touch $@

# Graphviz renders flow graphs as SVG/PNG; Chromium (with its driver) runs the phone preview's
# browser test (tests/test_preview_html.py); PostgreSQL (initdb, pg_ctl: Debian keeps them in
# /usr/lib/postgresql/<version>/bin) runs the store's tests on PostgreSQL (tests/postgres.py).
# Installed when we may (CI runs as root); a second run finds them and installs nothing.
SYSTEM_PACKAGES := dot:graphviz chromium:chromium chromedriver:chromium-driver initdb:postgresql systemd-analyze:systemd
system-deps:
	@missing=$$(for pair in $(SYSTEM_PACKAGES); do command -v $${pair%%:*} >/dev/null 2>&1 \
	  || ls /usr/lib/postgresql/*/bin/$${pair%%:*} >/dev/null 2>&1 || echo $${pair#*:}; done); \
	[ -z "$$missing" ] || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	  && (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing fonts-liberation >/dev/null) \
	  || echo "note: not installed: $$missing (no SVG/PNG graphs without graphviz; the phone preview's browser test skips without chromium, outside CI; the store's PostgreSQL tests fail without postgresql; the systemd unit's check skips without systemd, outside CI)"; }

run: $(VENV)/.installed
	$(PY) -m bot

# Every pytest run here spreads its tests over the machine's cores (pytest-xdist, one worker per core;
# "worksteal" hands a long test's neighbours to an idle worker). Each worker is its own process with its
# own Synapse, PostgreSQL cluster and temporary files, so no test shares state with one on another core.
PYTEST := $(PY) -m pytest -q -n auto --dist worksteal

test: $(VENV)/.installed $(SYNAPSE_VENV)/.installed system-deps
	WEGWIJZER_TEST_SYNAPSE=$(abspath $(SYNAPSE_VENV))/bin/python $(PYTEST)
	$(MAKE) --no-print-directory test-postgres
	$(MAKE) --no-print-directory test-dates
	$(MAKE) --no-print-directory lint

# The desk, check-in, timer and health tests drive the real core through tests/desk_harness.World;
# the full run above does so on SQLite, this runs them again on a throwaway PostgreSQL (the store's
# own tests and the fault tests already run on both backends within the full run).
POSTGRES_TESTS := tests/test_checkin.py tests/test_desk.py tests/test_logging_privacy.py tests/test_health.py

test-postgres: $(VENV)/.installed
	@echo "== desk, check-in, timer and health tests on PostgreSQL"
	WEGWIJZER_TEST_BACKEND=postgresql $(PYTEST) -p no:cacheprovider $(POSTGRES_TESTS)

# The tests whose outcome depends on the date, run again with the wall clock faked by
# libfaketime (the monotonic clock left alone): a Dutch DST switch, a leap day and New
# Year's Eve, all in UTC. The build of libfaketime is the one the `libfaketime` package
# ships (Debian's 0.9.10 breaks Python's time.sleep when the monotonic clock is not faked).
DATE_TESTS := tests/test_clock.py tests/test_checker.py tests/test_cli.py tests/test_settings.py \
	tests/test_privacy.py tests/test_stats_audit.py tests/test_dates.py tests/test_checkin.py \
	tests/test_desk.py tests/test_scenarios_runner.py tests/test_console.py tests/test_directory.py \
	tests/test_preview.py tests/test_termijn_atw.py
FAKED_MOMENTS := 2027-03-28T01:59:30 2028-02-29T23:58:00 2026-12-31T23:59:00
# Left out at the faked moments (they run on the real date in `test`): the checker's broken-file cases and
# the schema's per-file cases read YAML and report its errors with file:line; no date is read in them, and
# they were ~40 % of this stage's time (56 + 19 subprocess-heavy cases, three times over).
DATE_DESELECT := -k "not test_a_broken_file_is_reported_with_file_line_column_kind_and_fix and not test_the_schema_accepts_every_shipped_flow_file"

test-dates: $(VENV)/.installed
	@lib=$$($(PY) -c 'import libfaketime, os; d, = libfaketime.get_reload_information()[1]["LD_LIBRARY_PATH"].split(os.pathsep); print(os.path.join(d, "libfaketime.so.1"))'); \
	for moment in $(FAKED_MOMENTS); do \
	  echo "== date-dependent tests with the wall clock at $$moment UTC"; \
	  env TZ=UTC DONT_FAKE_MONOTONIC=1 FAKETIME="@$$(echo $$moment | tr T ' ')" LD_PRELOAD="$$lib" \
	    $(PY) -c 'import sys; from bot.clock import SYSTEM; now = SYSTEM().isoformat(timespec="minutes"); print("   the product clock reads", now); sys.exit(now[:16] != sys.argv[1][:16])' "$$moment" \
	    || { echo "libfaketime did not take effect: these tests would run on the real date"; exit 1; }; \
	  env TZ=UTC DONT_FAKE_MONOTONIC=1 FAKETIME="@$$(echo $$moment | tr T ' ')" LD_PRELOAD="$$lib" \
	    $(PYTEST) -p no:cacheprovider $(DATE_DESELECT) $(DATE_TESTS) || exit 1; \
	done

# pip-audit needs its vulnerability service; without network it notes that in one line and passes.
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check bot tests bench
	$(VENV)/bin/mypy
	$(PY) .ci/audit-deps

check: $(VENV)/.installed
	$(PY) -m bot check flows

# The bot's paths and the peers (../shared/bench/peers) in one sitting, with the ratios;
# bench/README.md has the other options (--breakdown, one path, --users ...).
bench: $(VENV)/.installed
	$(PY) -m bench.run --peers

# The same sitting with PostgreSQL too (a throwaway cluster the bench starts), one and two bot processes.
bench-postgresql: $(VENV)/.installed system-deps
	$(PY) -m bench.run --peers --backend sqlite postgresql --procs 1 2

schema: $(VENV)/.installed
	$(PY) -m bot schema --out docs/flow.schema.json

clean:
	rm -rf $(VENV) $(SYNAPSE_VENV) .pytest_cache .mypy_cache .ruff_cache .cache
