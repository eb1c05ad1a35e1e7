"""Files only their owner may read: the registry's SQLite database, the laptop's store (it holds the
roster and the bearer token), crash reports and logs (issue 10).

Folders are made 0700 and files 0600, and existing ones are narrowed when opened again (they were
made 0644 before). SQLite gives a database's ``-wal`` and ``-shm`` the permissions of the database
file, so creating that file 0600 before SQLite opens it is enough for new ones; existing ones are
narrowed here too. On Windows ``chmod`` only sets the read-only flag: the user profile's ACLs keep
these files private there.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def private_dir(folder: str | Path) -> Path:
    """``folder`` (and missing parents) made and narrowed to 0700; existing parents are left alone."""
    folder = Path(folder)
    folder.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    _chmod(folder, DIR_MODE)
    return folder


def private_file(path: str | Path) -> Path:
    """``path`` created empty if absent, 0600 either way; its folder is ``private_dir``."""
    path = Path(path)
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | getattr(os, "O_BINARY", 0), FILE_MODE)
    os.close(fd)
    _chmod(path, FILE_MODE)
    return path


def private_sqlite(path: str | Path) -> Path:
    """A SQLite database file (and its -wal/-shm/-journal, if present) made or narrowed to 0600."""
    path = private_file(path)
    for suffix in SQLITE_SIDE_FILES:
        side = path.with_name(path.name + suffix)
        if side.exists():
            _chmod(side, FILE_MODE)
    return path


def _chmod(path: Path, mode: int) -> None:
    with contextlib.suppress(PermissionError):  # a file someone else owns: theirs to narrow
        os.chmod(path, mode)
