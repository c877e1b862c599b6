# The two commands of the README: `make demo` and `make test`. Everything else here serves them.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
# `make demo PORT=8502` when 8501 is taken
PORT    ?= 8501

.PHONY: demo test setup system-deps clean

demo: setup
	$(BIN)/ganaug demo --port $(PORT)

test: setup system-deps
	bash .ci/test.sh

setup: $(STAMP)

# torch is pinned (see README, "Dependencies"): with the CPU wheel on the machine pip downloads no CUDA packages.
# A venv without pip is one whose creation failed (Debian without python3-venv: "ensurepip is not available"): made
# again, and removed when that fails too, so that the next `make` after `apt install python3-venv` starts clean.
$(STAMP): pyproject.toml
	test -x $(BIN)/pip || { rm -rf $(VENV) && $(PY) -m venv $(VENV); } || { rm -rf $(VENV); exit 1; }
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Debian packages the test suite uses: chromium for the browser test, PostgreSQL for the database suite.
system-deps:
	bash .ci/system-deps.sh

clean:
	rm -rf $(VENV) .ganaug .pytest_cache test-artifacts
