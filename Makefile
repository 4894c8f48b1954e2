# The few commands people type. Everything runs inside the locked uv environment.
export AVTALE_HOME ?= $(CURDIR)/.avtale
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
RUN := $(UV) run --frozen --no-sync
# Optional extras to install and keep, e.g. `make setup AVTALE_EXTRAS=spark` (dbt on Apache
# Spark, docs/spark.md). `uv sync` removes the packages of extras not named, so name it on
# every `make` that syncs (or export it), as .ci/run does.
AVTALE_EXTRAS ?=
SYNC_EXTRAS := $(foreach extra,$(AVTALE_EXTRAS),--extra $(extra))

.PHONY: setup demo test lint dev app refresh bench clean

setup:  ## install uv if missing, then the locked dependencies
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --frozen --compile-bytecode $(SYNC_EXTRAS)  # PYTHONDONTWRITEBYTECODE is set on these machines: precompiled imports are 4x faster
	$(RUN) python -c 'from dagster_project.project import prepared_manifest; prepared_manifest()' 2>/dev/null || $(RUN) dagster-dbt project prepare-and-package --file dagster_project/project.py  # the dbt manifest, when missing or older than dbt/

demo: setup  ## demo data in, warehouse built, app served on http://127.0.0.1:8501
	$(RUN) avtale demo

test: lint  ## lint, types, SQL style, then the whole test suite
	$(RUN) pytest

lint: setup  ## ruff, formatting, mypy, SQLFluff (dbt templater, DuckDB dialect) on the dbt project
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy
	$(RUN) sqlfluff lint dbt/models dbt/tests --processes 2

dev: setup  ## the Dagster UI on http://127.0.0.1:3000 (assets, runs, schedule, sensor), and the warm refresh worker
	mkdir -p $(AVTALE_HOME)/dagster
	$(RUN) python -m dagster_project.instance $(AVTALE_HOME)/dagster
	$(RUN) avtale worker & worker=$$!; trap 'kill $$worker' EXIT INT TERM; \
	DAGSTER_HOME=$(AVTALE_HOME)/dagster $(RUN) dagster dev -m dagster_project.definitions -h 127.0.0.1 -p 3000

app: setup
	$(RUN) avtale app

refresh: setup
	$(RUN) avtale refresh

bench: setup  ## ingest + refresh timings at 1k, 10k, 100k companies against a plain DuckDB floor; documents per second; signing steps
	$(RUN) python benchmarks/bench.py
	$(RUN) python benchmarks/documents.py
	$(RUN) python -W ignore::DeprecationWarning benchmarks/signing.py

clean:
	rm -rf .avtale dbt/target dbt/logs
