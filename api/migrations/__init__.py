"""Alembic migrations of the Noriai schema (run by ``api.storage.migrate`` at startup)."""
