# CreatorFlow: `make run` serves the demo, `make test` runs the suite.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: run test e2e lint bench chaos install setup demo clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# Embedded default for the demo: DEBUG on, SQLite and a filesystem broker in var/ unless
# DATABASE_URL / REDIS_URL say otherwise.
run: export DEBUG ?= true
# The TikTok Shop sandbox (Procfile) stands in for TikTok: same wire format, only the base URLs differ.
run: export TIKTOK_APP_KEY ?= sandbox-app-key
run: export TIKTOK_APP_SECRET ?= sandbox-app-secret
run: export TIKTOK_SERVICE_ID ?= sandbox-service
run: export TIKTOK_API_BASE_URL ?= http://127.0.0.1:8765
run: export TIKTOK_AUTH_BASE_URL ?= http://127.0.0.1:8765
run: export TIKTOK_AUTHORIZE_URL ?= http://127.0.0.1:8765/open/authorize
# The built-in sandbox carrier sends its signed tracking webhooks to our own endpoint.
run: export SHIPPING_SANDBOX_WEBHOOK_URL ?= http://127.0.0.1:8000/webhooks/carriers/sandbox/
run: $(STAMP)
	@mkdir -p var
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py sync_periodic_tasks
	$(BIN)/python manage.py load_demo
	$(BIN)/honcho start -f Procfile

test: $(STAMP)
	$(BIN)/pytest -m "not e2e" $(PYTEST_ARGS)

e2e: $(STAMP)
	DJANGO_ALLOW_ASYNC_UNSAFE=true $(BIN)/pytest -m e2e $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(STAMP)
	$(BIN)/python -m bench

# Fault scenarios against a live stack each starts for itself (its own PostgreSQL and Redis):
# broker frozen and lost, worker killed, carrier down, database down. Not part of `make test`.
chaos: $(STAMP)
	$(BIN)/python -m bench.chaos $(SCENARIOS)

clean:
	rm -rf var/celery var/test-celery var/test-media
