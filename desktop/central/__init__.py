"""The central workspace (issue 4): review queue, record comparison and decisions, warnings, dashboard.

Opened instead of the field workspace when a central or admin operator logs in online. Every
network call goes through a ``CentralOwner`` lane (``desktop.lane``), each owning a
``sync.central.CentralClient``: one lane for short calls, one for long runs; widgets only submit
calls and receive results by signal.
"""

from .window import CentralWindow

__all__ = ["CentralWindow"]
