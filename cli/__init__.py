"""The ``yikatong`` command: the same code paths as the app, for scripts and operators."""
