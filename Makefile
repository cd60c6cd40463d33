# Learning to See: the README's commands.
#   make book   execute every notebook and build the book (the main job)
#   make test   the whole test suite
#   make lab    open JupyterLab on the book
# Each target creates .venv and installs everything it needs on a fresh machine.

# bash for `set -o pipefail` (pip's output is filtered below).
SHELL  := /bin/bash
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# Two workers: the CI machines and most laptops have at least two cores. Override with
# `make test JOBS=auto`.
JOBS   ?= 2

.PHONY: env book npm-check test lab exercises crosscheck clean

env: $(STAMP)

# The first run takes minutes (PyTorch, Jupyter Book, JupyterLab): say what is going on,
# one line per package as pip collects it.
$(STAMP): requirements.txt pyproject.toml
	@echo "Installing the Python environment in $(VENV) (on a first run about 4 minutes;"
	@echo "afterwards only when requirements.txt or pyproject.toml change) ..."
	@test -x $(PY) || { echo "  creating $(VENV)"; $(PYTHON) -m venv $(VENV); }
	@echo "  upgrading pip"
	@$(PY) -m pip install -q --upgrade pip
	@echo "  installing requirements.txt:"
	@set -o pipefail; $(PY) -m pip install --progress-bar off -r requirements.txt | awk \
	    '/^Collecting / { name = $$2; sub(/[<>=!~;[].*/, "", name); print "    " name; fflush() } \
	     /^Installing collected packages/ { print "  unpacking and installing them ..."; fflush() } \
	     /^Successfully installed/ { print "  installed", NF - 2, "packages"; fflush() }'
	@echo "  installing cnnlib (editable) and checking for conflicts"
	@$(PY) -m pip install -q --no-deps -e .
	@$(PY) -m pip check
	@touch $(STAMP)
	@echo "Python environment ready."

book: npm-check env
	$(PY) tools/build_book.py

# The web book loads MathJax, reveal.js and the widget renderer from local copies that
# npm installs (pinned in package-lock.json); say so before anything else is installed.
npm-check:
	@command -v npm >/dev/null 2>&1 || { \
	  echo "make book needs Node.js 18 or newer with npm, to install local copies of"; \
	  echo "MathJax, reveal.js and the widget renderer (the book then works offline)."; \
	  echo "Install it and run make book again:"; \
	  echo "  Debian/Ubuntu: sudo apt-get install nodejs npm"; \
	  echo "  macOS:         brew install node"; \
	  echo "  Windows:       the installer from https://nodejs.org"; \
	  exit 1; }

# One BLAS thread per pytest worker: two workers that each start two BLAS threads on two
# cores oversubscribe them and small matrix products run up to 20x slower.
# tests/test_notebooks.py runs every notebook through the book's executor: a notebook
# whose identical execution `make book` (or an earlier test run) already made is served
# from _build/.cache and checked, not executed again (the summary says which).
test: env
	MPLBACKEND=Agg OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PY) -m pytest -n $(JOBS) --dist loadscope --timeout 900 tests

lab: env
	$(VENV)/bin/jupyter lab book/

exercises: env
	$(PY) tools/make_exercises.py

crosscheck: env
	$(PY) -m cnnlib.crosscheck

clean:
	rm -rf _build .pytest_cache
