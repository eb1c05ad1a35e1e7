"""Where files live: data shipped with the app (demo rosters, later icons, translations, rule
files) and the user's own data folder. No other code here."""

import os
import sys
from importlib.resources import files
from pathlib import Path


def user_data_dir() -> Path:
    """The user's data folder for yikatong: %APPDATA%\\yikatong on Windows, else XDG_DATA_HOME/yikatong."""
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "yikatong"


def path(*parts: str):
    """A Traversable for a file under resources/, e.g. path("demo", "roster_510903102201.csv")."""
    node = files(__name__)
    for p in parts:
        node = node / p
    return node
