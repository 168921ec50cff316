# Two commands for a fresh machine: `make book` and `make test`. Everything else is a building block.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
JOBS   ?= 2

# One BLAS thread per process: the simulations are many small batched solves, and with pytest-xdist workers or
# a notebook kernel beside the build, multi-threaded BLAS oversubscribes 2 cores (measured 15x slower).
export OMP_NUM_THREADS ?= 1
export OPENBLAS_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1

.PHONY: install book test test-lib test-notebooks test-book test-browser bench clean

# (Re)install when the dependency files change; creates .venv if absent.
$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@touch $(STAMP)

install: $(STAMP)

# Browser-test assets (MathJax, require.js, Jupyter widgets): the npm packages pinned in package.json / package-lock.json.
NPM_STAMP := node_modules/.installed
$(NPM_STAMP): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	@touch $(NPM_STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build -W --keep-going .
	@echo "Book built: $(CURDIR)/_build/html/index.html"

test-lib: $(STAMP)
	$(BIN)/python -m pytest tests -m "not browser" -n $(JOBS) -q

test-notebooks: $(STAMP)
	$(BIN)/python -m pytest book --nbval-lax --nbval-current-env -n $(JOBS) --dist loadscope -q

# Always executes every notebook: the execution cache `make book` keeps is emptied first.
test-book: $(STAMP)
	rm -rf _build/.jupyter_cache
	$(BIN)/jupyter-book build -W --keep-going .

# Real-browser tests (headless /usr/bin/chromium via Playwright) of the book just built by test-book.
test-browser: test-book $(NPM_STAMP)
	$(BIN)/python -m pytest tests/browser -m browser -q

test: test-lib test-notebooks test-book test-browser
	@echo "make test: all checks passed"

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf _build
