# The README's two commands: `make run` (chat with the bot) and `make test` (every test).
# Both set up what they need on a fresh machine; nothing else has to be installed first.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SYNAPSE_VENV := .venv-synapse

.PHONY: run test lint bench check schema clean system-deps

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

$(SYNAPSE_VENV)/.installed:
	SYNAPSE_VENV=$(SYNAPSE_VENV) bash .ci/install-synapse
	touch $@

# Graphviz renders flow graphs as SVG/PNG; installed when we may (CI runs as root).
system-deps:
	@command -v dot >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	  && (apt-get update -qq && apt-get install -y -qq graphviz >/dev/null) \
	  || echo "note: graphviz not installed; SVG/PNG graphs are unavailable (mermaid and dot work)"; }

run: $(VENV)/.installed
	$(PY) -m bot

test: $(VENV)/.installed $(SYNAPSE_VENV)/.installed system-deps
	WEGWIJZER_TEST_SYNAPSE=$(abspath $(SYNAPSE_VENV))/bin/python $(PY) -m pytest -q
	$(MAKE) --no-print-directory lint

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check bot tests bench
	$(VENV)/bin/mypy

check: $(VENV)/.installed
	$(PY) -m bot check flows

bench: $(VENV)/.installed
	$(PY) -m bench.run

schema: $(VENV)/.installed
	$(PY) -m bot schema --out docs/flow.schema.json

clean:
	rm -rf $(VENV) $(SYNAPSE_VENV) .pytest_cache .mypy_cache .ruff_cache
