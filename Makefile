# The README's commands. Each target creates the virtual environment it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run test lint schemas bench fuzz clean

$(STAMP): pyproject.toml
	rm -f $(VENV)/.installed-*
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

run: $(STAMP)  ## the hub on its embedded default: SQLite store, SQLite broker, demo configuration
	$(BIN)/hub db upgrade
	$(BIN)/hub run

test: $(STAMP)  ## the whole suite; service tests skip without the service, fail under CI=true
	$(BIN)/ruff check hub consumers producers schemas tests
	$(BIN)/mypy
	$(BIN)/pytest -n 2 -m "not disruptive"  # two workers: each test has its own vhost, database, ports
	$(BIN)/pytest -m disruptive  # tests that stop or restart a shared service run alone, after

schemas: $(STAMP)  ## regenerate schemas/json from the models
	$(BIN)/python -m schemas.generate

bench: $(STAMP)
	$(BIN)/hub bench

fuzz: $(STAMP)  ## outside the suite: 100,000 generated inputs through the decoder and the loader each
	$(BIN)/python -m tests.fuzz --inputs 100000

clean:
	rm -rf $(VENV) .hub-data .pytest_cache .mypy_cache .ruff_cache test-artifacts
