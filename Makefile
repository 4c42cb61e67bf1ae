# Two commands do all the set-up: `make demo` (the main job) and `make test` (the checks).
# Both install uv if it is missing and sync the locked environment into .venv first.
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
export UV_NO_PROGRESS := 1

.PHONY: setup demo example test check lint typecheck unit quick benchmarks clean

.venv/.synced: pyproject.toml uv.lock
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 \
		|| python3 -m pip install --quiet --disable-pip-version-check uv
	$(UV) sync --frozen
	@touch $@

setup: .venv/.synced

# The main job: the built-in compare plan, short, on an emulator of its own with the bundled
# example model; it ends with the recommendation and the run directory (runs/<time>-compare-quick).
demo: .venv/.synced
	$(UV) run --frozen endpointlab bench compare --quick

# An example model served in a container and invoked, request by request.
example: .venv/.synced
	$(UV) run --frozen endpointlab examples run rtb-ctr
	$(UV) run --frozen endpointlab examples run image-classifier --limit 5

lint: .venv/.synced
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .

typecheck: .venv/.synced
	$(UV) run --frozen mypy

# The full suite on two processes, a test file to each at a time (module fixtures stay shared).
unit: .venv/.synced
	$(UV) run --frozen pytest -n 2 --dist loadfile --no-loadscope-reorder

test: lint typecheck unit

# The quick lane for the edit-test loop: lint, types and the fast unit tests (not CI's command).
quick: .venv/.synced
	$(UV) run --frozen pytest -q -m "not slow" tests/unit

check: lint typecheck quick

benchmarks: .venv/.synced
	$(UV) run --frozen python benchmarks/container_overhead.py

clean:
	rm -rf .venv build .pytest_cache .mypy_cache .ruff_cache
