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

.PHONY: install book test test-lib test-notebooks test-book test-browser bench clean assignments book-student test-student-book

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
	$(BIN)/python -m pytest tests -m "not browser and not student_book" -n $(JOBS) -q

test-notebooks: $(STAMP)
	$(BIN)/python -m pytest book --nbval-lax --nbval-current-env -n $(JOBS) --dist loadscope -q

# Always executes every notebook: the execution cache `make book` keeps is emptied first.
test-book: $(STAMP)
	rm -rf _build/.jupyter_cache
	$(BIN)/jupyter-book build -W --keep-going .

# Real-browser tests (headless /usr/bin/chromium via Playwright) of the book just built by test-book.
test-browser: test-book $(NPM_STAMP)
	$(BIN)/python -m pytest tests/browser -m browser -q

test: test-lib test-notebooks test-book test-student-book test-browser
	@echo "make test: all checks passed"

# Course edition. The student and instructor editions of the assignments (book/assignments/*.ipynb) go to
# _build/assignments/{student,instructor}/; the student edition is also copied to book/assignments/student/, which is
# committed because the book's appendix links to it (tests/test_editions.py fails when that copy is out of date).
assignments: $(STAMP)
	$(BIN)/python -m collapse_lib.editions book/assignments _build/assignments
	mkdir -p book/assignments/student && cp _build/assignments/student/*.ipynb book/assignments/student/

# The book without the exercises' solutions, in _build/student/html. Notebooks executed by the last main build
# (_build/jupyter_execute) are reused when current; the others are executed again.
book-student: $(STAMP)
	$(BIN)/python -m collapse_lib.student_book . _build/student/src
	$(BIN)/jupyter-book build -W --keep-going _build/student/src
	rm -rf _build/student/html && mv _build/student/src/_build/html _build/student/html
	@echo "Student book built: $(CURDIR)/_build/student/html/index.html"

# No solution text in the student book (run after test-book, whose executed notebooks book-student reuses).
test-student-book: book-student
	$(BIN)/python -m pytest tests/test_student_book.py -m student_book -p no:xdist -q

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf _build
