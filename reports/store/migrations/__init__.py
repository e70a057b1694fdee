"""Alembic migrations of the history store (run by :meth:`Store.upgrade`)."""
