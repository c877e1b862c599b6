"""ganaug: the command line and the thin orchestration that connects `ganaug_core` (ML) to `db` (records)."""
