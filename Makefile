# One command to run a node, one to test it. Each installs what it needs into .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test lint bench clean federation-demo

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/govshare up

# Two workers: the shared node's tests in one, the modules with nodes of their own and the
# unit tests in the other (tests/integration/conftest.py groups them).
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 2 --dist loadgroup --durations=20

federation-demo: $(STAMP)
	rm -rf .govshare-federation
	$(BIN)/govshare demo federation

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python -m bench.gateway
	$(BIN)/python -m bench.catalog_search
	$(BIN)/python -m bench.exchange
	$(BIN)/python -m bench.federation
	$(BIN)/python -m bench.portal

clean:
	rm -rf $(VENV) .pytest_cache
