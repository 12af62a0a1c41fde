# Kapula: `make run` starts the product with demo data, `make test` runs every test.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
KAPULA := $(BIN)/kapula
PYTHON ?= $(shell for p in python3.13 python3.12 /root/.pyenv/versions/3.13*/bin/python3.13 /root/.pyenv/versions/3.12*/bin/python3.12 $$HOME/.pyenv/versions/3.13*/bin/python3.13 $$HOME/.pyenv/versions/3.12*/bin/python3.12 /usr/local/bin/python3.13 /usr/local/bin/python3.12 /usr/bin/python3.13 /usr/bin/python3.12; do \
	if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then command -v $$p; break; fi; done)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint bench venv install messages translations migrate demo clean schema browser-deps mail-deps assets

$(BIN)/kapula: pyproject.toml constraints.txt
	@if [ -z "$(PYTHON)" ]; then echo "Kapula needs Python >= 3.12 (python3.13 or python3.12 on PATH or under pyenv)"; exit 1; fi
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]"
	@touch $(BIN)/kapula

venv install: $(BIN)/kapula

messages: $(BIN)/kapula
	@cd kapula && ../$(KAPULA) compilemessages --verbosity 0

translations: $(BIN)/kapula
	@cd kapula && ../$(KAPULA) makemessages -l fi -l sv -l en --no-obsolete --ignore 'static/*' --verbosity 0
	@echo "Updated kapula/locale/*/LC_MESSAGES/django.po: translate the new entries, then make messages"

migrate: messages
	@mkdir -p var
	$(KAPULA) migrate --no-input --verbosity 0

demo: migrate
	$(KAPULA) demo_data

run: demo assets
	$(KAPULA) collectstatic --no-input --verbosity 0
	@$(KAPULA) train_triage --org demola >/dev/null && echo "Triage suggestions trained on the demo city's resolved tickets (kapula train_triage)."
	@echo ""
	@echo "Kapula: http://$(HOST):$(PORT)/   (API docs: http://$(HOST):$(PORT)/api/v1/docs)"
	@$(KAPULA) demo_data --logins
	@echo "Mail: send to palvelu@demolan.example over SMTP at $(HOST):2525 (or run"
	@echo "  '$(KAPULA) email_ingest FILE.eml'); outgoing mail is written to var/sent-mail/"
	@echo "  unless KAPULA_SMTP_HOST is set."
	@echo "Task worker, IMAP fetcher, mail listener, SLA scheduler and notification digests started alongside; stop all with Ctrl-C."
	@trap 'kill 0' EXIT INT TERM; \
	  export KAPULA_MAIL_BACKEND=$${KAPULA_MAIL_BACKEND:-$$( [ -n "$$KAPULA_SMTP_HOST" ] && echo django.core.mail.backends.smtp.EmailBackend || echo django.core.mail.backends.filebased.EmailBackend)}; \
	  $(KAPULA) db_worker --queue-name default --interval 0.5 & \
	  $(KAPULA) fetch_mail & \
	  $(KAPULA) sla_scheduler --interval 30 & \
	  $(KAPULA) notification_digests --interval 300 & \
	  $(KAPULA) mail_listener --smtp --host $(HOST) --port 2525 & \
	  $(BIN)/gunicorn kapula.wsgi:application --bind $(HOST):$(PORT) --workers 2 --threads 4 --access-logfile - & \
	  wait

browser-deps:
	@./scripts/browser-deps.sh

# Leaflet and proj4 (from npm) into kapula/vendor/: the maps; without them, no map
assets:
	@./scripts/assets.sh

mail-deps:
	@./scripts/mail-deps.sh

test: messages browser-deps mail-deps assets
	$(BIN)/pytest -n 2 --dist loadfile $(PYTEST_ARGS)

lint: $(BIN)/kapula
	$(BIN)/ruff check .
	$(BIN)/mypy kapula

schema: $(BIN)/kapula
	$(KAPULA) export_openapi --output kapula/api/openapi.json

bench: migrate
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; } || echo "wrk not installed: the API benchmark falls back to Python clients"
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) var node_modules kapula/vendor
