"""The PySide6 desktop app: login, village roster, enrollment form, outbox, sync.

Only this package imports Qt. It reaches the laptop store through one store-owner thread
(``store_worker``) and the registry only over HTTP through ``sync``.
"""
