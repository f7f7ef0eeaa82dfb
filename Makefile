# The two commands: `make run` and `make test` (as root on Debian 12; both install what is missing).
.PHONY: run status test compose-check setup setup-test services prepare lint format screenshots bench clean

setup:
	scripts/setup.sh

setup-test:
	scripts/setup.sh --test

services:
	scripts/services.sh

# vnetweb_own_data: the data directory and database become the web's user's (again in run.sh,
# after vnetweb_setup), and static files go only into a directory of root's own.
prepare: setup services
	.venv/bin/python manage.py migrate --noinput
	.venv/bin/python manage.py vnetweb_own_data vnetweb
	.venv/bin/python manage.py collectstatic --noinput -v0
	.venv/bin/python manage.py vnetweb_setup

run: prepare
	scripts/run.sh

# How `make run`'s programs are doing (supervisorctl status), from another terminal.
status:
	scripts/run.sh status

test: setup-test services
	.venv/bin/python -m pytest $(PYTEST_ARGS)

# docker-compose.yml built and run for real, driven through its containers, taken down again
# (scripts/compose-check.sh; it installs and starts a Docker engine if none answers).
compose-check:
	scripts/compose-check.sh

lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

format:
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

screenshots: setup-test
	.venv/bin/python scripts/screenshots.py

bench: setup-test services
	.venv/bin/python bench/network_list.py
	.venv/bin/python bench/snapshot_real.py
	.venv/bin/python bench/pages.py
	.venv/bin/python bench/click_to_row.py
	.venv/bin/python bench/freshness.py
	.venv/bin/python bench/switch_survey.py
	.venv/bin/python bench/topology.py
