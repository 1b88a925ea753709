PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-fast checks fuzz bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/cloudsim run scenarios/hunan-3s4c.yaml --out runs/demo --seed 7

# Lint, types, the architecture contracts (import-linter), then the tests.
checks: $(STAMP)
	$(BIN)/ruff check cloudsim tests benchmarks
	$(BIN)/ruff format --check cloudsim
	$(BIN)/mypy cloudsim
	$(BIN)/lint-imports

test: checks
	$(BIN)/pytest -q

# The same checks and every test not marked slow (under a minute).
test-fast: checks
	$(BIN)/pytest -q -m "not slow"

# Fuzz validation: every kind of mutation of the reference scenarios, this many examples
# each (the default suite runs a few; see tests/fuzz). Minutes; failing kinds are reported.
CLOUDSIM_FUZZ_EXAMPLES ?= 2000
fuzz: $(STAMP)
	CLOUDSIM_FUZZ_EXAMPLES=$(CLOUDSIM_FUZZ_EXAMPLES) $(BIN)/pytest -q -m fuzz tests/fuzz

bench: $(STAMP)
	$(BIN)/python benchmarks/placement.py --json runs/bench/placement.json
	$(BIN)/python benchmarks/scheduler.py --json runs/bench/scheduler.json
	$(BIN)/python benchmarks/faults.py --json runs/bench/faults.json
	$(BIN)/python benchmarks/engine.py --json runs/bench/engine.json
	$(BIN)/python benchmarks/cloudsimplus.py --json runs/bench/cloudsimplus.json
	$(BIN)/python benchmarks/scale.py --sizes 1000,10000,100000 --json runs/bench/scale.json

clean:
	rm -rf $(VENV) runs .pytest_cache .mypy_cache .ruff_cache
