"""The central registry: HTTP API, storage, roster import (no Qt; never imports desktop/ or the field client).

Layout: ``config`` (where the database is), ``db`` (engine, SQLite pragmas, migrations),
``schema`` (SQLAlchemy Core tables), ``auth`` (operators, argon2, tokens), ``service``
(push, pull, digest, blobs), ``roster`` (CSV import), ``stats``, ``api`` (FastAPI app),
``server`` (uvicorn on a socket it binds itself).
"""
