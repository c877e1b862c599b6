"""Persistence for ganaug: SQLAlchemy 2.0 typed models, sessions and alembic migrations. No torch here."""
