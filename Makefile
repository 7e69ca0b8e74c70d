# Frontdesk: `make run` and `make test` set up everything they need on first use.
.DEFAULT_GOAL := help
SHELL := /bin/bash

# The first Python >= 3.11 found; override with `make PYTHON=/path/to/python3.12 ...`.
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
	&& { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
export FRONTDESK_HOME ?= $(CURDIR)/.frontdesk

.PHONY: help run test check bench nlu chromium clean

help:
	@echo "make run    set up (venvs, NLU model) and serve on http://127.0.0.1:8000"
	@echo "make test   set up, then lint, type-check and run the whole test suite"
	@echo "make check  ruff (lint + format) and mypy only"
	@echo "make bench  speed and memory beside Rasa's REST channel, printed as figures and ratios"
	@echo "make nlu    create the Rasa venv and train the model if its data changed"
	@echo "make chromium  install Chromium for the browser tests (apt-get) if missing"
	@echo "make clean  remove the venvs, models and local database"

$(BIN)/.installed: pyproject.toml
	@if [ -z "$(PYTHON)" ]; then echo "Frontdesk needs Python >= 3.11 (python3.11 or newer on PATH, or make PYTHON=...)."; exit 1; fi
	@echo "==> Creating the app venv in $(VENV) with $$($(PYTHON) --version)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --progress-bar off -e '.[dev]'
	@touch $@

nlu: $(BIN)/.installed
	@echo "==> NLU: Rasa venv and model (first run: ~4 min install, then training)"
	$(BIN)/frontdesk nlu train

run: nlu
	$(BIN)/frontdesk serve

check: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The widget's browser tests drive Debian's Chromium (Playwright's own download does
# not work here); installed with apt-get when missing.
chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
		echo "==> Installing Chromium for the browser tests (apt-get)"; \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

test: check nlu chromium
	$(BIN)/pytest

bench: nlu
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) $(FRONTDESK_HOME)
