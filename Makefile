# Everything a fresh machine needs: `make run` and `make test` create .venv themselves.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
# Small torch networks run 8-15x slower with two threads than with one on 2-core machines.
export OMP_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1

.PHONY: run test test-slow lint bench reports reports-from-evidence clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# The CPU build on this machine's disk; any other torch pulls a multi-GB CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[torch,fair,audit,causal,vision,rl]"
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[torch,fair,audit,causal,vision,rl,trl,optuna,postgres,dev,ray,dask]"
	touch $@ $(VENV)/.installed-run

# The report is written even when a cell raised; the exit status still says so.
run: $(VENV)/.installed-run
	$(BIN)/guardopt reproduce --all --quick; status=$$?; $(BIN)/guardopt report && exit $$status

test: $(VENV)/.installed-test lint
	$(BIN)/pytest -m "not slow" -q

test-slow: $(VENV)/.installed-test
	$(BIN)/pytest -m slow -q
	GUARDOPT_CONTRACT_PROFILE=slow $(BIN)/pytest -q $(wildcard tests/*/test_*_contracts.py)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

bench: $(VENV)/.installed-test
	$(BIN)/pip install --quiet -e ".[torch,dev,bench]"
	$(BIN)/python benchmarks/run_all.py

# Full-scale runs whose reports are committed under reports/.
reports: $(VENV)/.installed-run
	$(BIN)/guardopt reproduce --all --full --store .guardopt/full.db
	$(BIN)/guardopt report --store .guardopt/full.db --out reports/ --evidence reports/evidence

# The committed evidence regenerates every committed report, byte for byte.
reports-from-evidence: $(VENV)/.installed-run
	$(BIN)/guardopt report --store reports/evidence --out reports/

clean:
	rm -rf $(VENV) .guardopt .pytest_cache .mypy_cache .ruff_cache
