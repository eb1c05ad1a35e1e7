"""Alembic environment: always run programmatically by ``registry.db.migrate``.

The caller passes an open connection inside a transaction in ``config.attributes``; no
alembic.ini, no logging set-up (the server owns its logging).
"""

from __future__ import annotations

from alembic import context

from registry.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - offline/CLI alembic use is not supported
    raise RuntimeError("run migrations through registry.db.migrate()")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
