# ClinicSettle — all set-up lives here, so a fresh machine needs only `make run` or `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean venv screenshots dist mutate

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/clinic-settle demo --if-empty
	$(BIN)/clinic-settle

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check desktop_app tests bench

bench: $(STAMP)
	$(BIN)/python bench/bench_engine.py
	$(BIN)/python bench/bench_calc_cli.py

clean:
	rm -rf $(VENV) build dist *.egg-info

dist: $(STAMP)
	$(BIN)/python installer/build.py --out dist

# Mutation run over core/services/reports/gui (hours on 2 cores; not part of CI): docs/mutation-run.md
MODULES ?= core services reports gui
mutate: $(STAMP)
	$(BIN)/python tools/mutate.py $(MODULES)

screenshots: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python scripts/screenshots.py
