#!/usr/bin/env bash
# The whole test suite: starts a throwaway PostgreSQL when one can be started, then runs pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -f .ci/postgres.sh ] && [ -z "${GANAUG_TEST_PG_URL:-}" ]; then
  # postgres.sh prints `export GANAUG_TEST_PG_URL=...` on success; failures only mean the PG cases skip.
  eval "$(bash .ci/postgres.sh 2>/dev/null | grep '^export GANAUG_TEST_PG_URL=' || true)"
fi
exec .venv/bin/pytest -q "$@"
