#!/usr/bin/env bash
# The whole test suite: starts a throwaway PostgreSQL when one can be started, then runs pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${GANAUG_TEST_PG_URL:-}" ]; then
  # Exports GANAUG_TEST_PG_URL when a cluster can be started; otherwise the PostgreSQL cases skip, saying why.
  source .ci/postgres.sh >/dev/null || true
fi
# Two workers (pytest-xdist): most tests keep one core busy (torch has one thread in tests, see tests/conftest.py),
# so two halve the time on a 2-core machine. GANAUG_TEST_WORKERS=0 runs in one process; more suit a larger machine.
exec .venv/bin/pytest -q -n "${GANAUG_TEST_WORKERS:-2}" "$@"
