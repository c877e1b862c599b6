#!/usr/bin/env bash
# The whole test suite: starts a throwaway PostgreSQL when one can be started, then runs pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
# UMAP's numba functions compiled once, before the workers start, and kept on disk (keep_umap_compiled in
# ganaug_core/embedding.py): each worker and each app or CLI process a test starts then loads them in about a second
# where it compiled them for 20–40 s, and the workers never write the same files at once. Alongside PostgreSQL's
# start; a failure here only costs that time (the tests that fit a map say what is wrong).
.venv/bin/python -c 'import numpy as np; from ganaug_core.embedding import fit_embedding
fit_embedding(np.random.default_rng(0).random((64, 8), dtype=np.float32), n_epochs=2)' &
warm=$!
if [ -z "${GANAUG_TEST_PG_URL:-}" ]; then
  # Exports GANAUG_TEST_PG_URL when a cluster can be started; otherwise the PostgreSQL cases skip, saying why.
  source .ci/postgres.sh >/dev/null || true
fi
wait "$warm" || echo "test.sh: compiling UMAP ahead failed; the tests that fit a map compile it themselves" >&2
# Two workers (pytest-xdist): most tests keep one core busy (torch has one thread in tests, see tests/conftest.py),
# so two halve the time on a 2-core machine. GANAUG_TEST_WORKERS=0 runs in one process; more suit a larger machine.
exec .venv/bin/pytest -q -n "${GANAUG_TEST_WORKERS:-2}" "$@"
