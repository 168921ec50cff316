# Two commands for a fresh machine: `make book` and `make test`. Everything else is a building block.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
JOBS   ?= 2

.PHONY: install book test test-lib test-notebooks test-book bench clean

# (Re)install when the dependency files change; creates .venv if absent.
$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@touch $(STAMP)

install: $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build -W --keep-going .
	@echo "Book built: $(CURDIR)/_build/html/index.html"

test-lib: $(STAMP)
	$(BIN)/python -m pytest tests -m "not browser" -n $(JOBS) -q

test-notebooks: $(STAMP)
	$(BIN)/python -m pytest book --nbval-lax --nbval-current-env -n $(JOBS) --dist loadscope -q

test-book: $(STAMP)
	$(BIN)/jupyter-book build -W --keep-going .

test: test-lib test-notebooks test-book
	@echo "make test: all checks passed"

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf _build
