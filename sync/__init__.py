"""Everything that crosses between a laptop and the registry.

``protocol`` is shared by both ends; ``store`` is the laptop's SQLite store; ``http`` is
the one HTTP client; ``client`` runs a sync. No Qt here.
"""
