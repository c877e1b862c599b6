#!/usr/bin/env bash
# The whole test suite: starts a throwaway PostgreSQL when one can be started, then runs pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${GANAUG_TEST_PG_URL:-}" ]; then
  # Exports GANAUG_TEST_PG_URL when a cluster can be started; otherwise the PostgreSQL cases skip, saying why.
  source .ci/postgres.sh >/dev/null || true
fi
exec .venv/bin/pytest -q "$@"
