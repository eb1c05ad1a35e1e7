"""The PySide6 desktop app: login, village roster, enrollment form, outbox, sync.

Only this package imports Qt. Work off the GUI thread runs on lanes (``lane``: one serial worker
thread each, results back by signal): the laptop store through the store's lane (``store_worker``),
the registry only over HTTP through ``sync``.
"""

import os

# One BLAS thread: on a 2-core village laptop the UI, the camera grabber and the face analyser
# already share both cores, and OpenBLAS's second thread then mostly waits (the descriptor went
# from ~20 ms to 85-116 ms under load). Must be set before NumPy is first imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
