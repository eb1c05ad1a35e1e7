"""The central workspace (issue 4): review queue, record comparison and decisions, warnings, dashboard.

Opened instead of the field workspace when a central or admin operator logs in online. Every
network call goes through ``CentralOwner`` (one worker thread owning a ``sync.central.CentralClient``);
widgets only submit calls and receive results by signal.
"""

from .window import CentralWindow

__all__ = ["CentralWindow"]
