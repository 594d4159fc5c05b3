# `make run` and `make test` each do the whole set-up first (scripts/setup.sh).
VENV := .venv
BIN := $(VENV)/bin
DEV_ENV := SKILLS_REGISTRY_ENVIRONMENT=development
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: setup run test lint typecheck pytest migration bench clean

setup:
	@bash scripts/setup.sh

run: setup
	@$(DEV_ENV) $(BIN)/skills-registry migrate >/dev/null
	@$(DEV_ENV) $(BIN)/skills-registry seed-demo
	@key=$$($(DEV_ENV) $(BIN)/skills-registry keys create --role bureau-admin --label "make run (demo)" 2>/dev/null | tail -n 1); \
	  echo ""; \
	  echo "  skills-registry: http://$(HOST):$(PORT)/   OpenAPI: http://$(HOST):$(PORT)/schema/openapi.json"; \
	  echo "  bureau-admin API key (shown once): $$key"; \
	  echo ""
	@$(DEV_ENV) $(BIN)/skills-registry serve --host $(HOST) --port $(PORT)

test: setup lint typecheck pytest

lint:
	$(BIN)/ruff check src tests bench piccolo_conf.py
	$(BIN)/ruff format --check src tests bench piccolo_conf.py

typecheck:
	$(BIN)/mypy

pytest:
	$(BIN)/pytest

# New migration after changing tables: make migration APP=providers
migration: setup
	$(DEV_ENV) $(BIN)/piccolo migrations new $(APP) --auto

bench: setup
	$(BIN)/python -m bench
	$(BIN)/python -m bench.progress
	$(BIN)/python -m bench.verify
	$(BIN)/python -m bench.pdf

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
