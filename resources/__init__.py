"""Data files shipped with the app (demo rosters, later icons, translations, rule files). No code."""

from importlib.resources import files


def path(*parts: str):
    """A Traversable for a file under resources/, e.g. path("demo", "roster_510903102201.csv")."""
    node = files(__name__)
    for p in parts:
        node = node / p
    return node
