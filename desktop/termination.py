"""SIGTERM and SIGINT end the app cleanly and promptly, even while Qt's event loop is idle.

Python runs a signal handler only when the main thread executes Python code. While Qt's event loop
waits in C++ for events, that never happens: ``yikatong demo`` once ignored SIGTERM for eleven
minutes. The standard remedy: ``signal.set_wakeup_fd`` makes the C-level handler write a byte to a
socket, a ``QSocketNotifier`` wakes the event loop on it, and the Python slot that drains the socket
gives the interpreter the moment it needs to run the real handler, which closes the windows (the form
autosaves on close) and leaves the event loop. The caller's ``finally`` then stops its threads and,
in the demo, the embedded registry.
"""

from __future__ import annotations

import logging
import signal
import socket
from collections.abc import Callable

from PySide6.QtCore import QObject, QSocketNotifier
from PySide6.QtWidgets import QApplication

log = logging.getLogger(__name__)

HANDLED = (signal.SIGTERM, signal.SIGINT)


class SignalQuitter(QObject):
    """While installed, SIGTERM/SIGINT close every window and leave the event loop with exit code 0."""

    def __init__(self, app: QApplication, on_signal: Callable[[int], None] | None = None) -> None:
        super().__init__(app)
        self._app = app
        self._on_signal = on_signal
        self.received: int | None = None
        self._reader, self._writer = socket.socketpair()
        for s in (self._reader, self._writer):
            s.setblocking(False)
        self._previous_fd = signal.set_wakeup_fd(self._writer.fileno(), warn_on_full_buffer=False)
        self._previous = {s: signal.signal(s, self._handle) for s in HANDLED}
        self._notifier = QSocketNotifier(self._reader.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._drain)

    def _drain(self, *_args) -> None:
        # Reading is all it takes: returning to Python here lets the pending handler run.
        try:
            while self._reader.recv(64):
                pass
        except (BlockingIOError, InterruptedError):
            pass

    def _handle(self, signum: int, _frame) -> None:
        if self.received is not None:
            return
        self.received = signum
        log.info("signal %s: closing the app", signal.Signals(signum).name)
        if self._on_signal is not None:
            self._on_signal(signum)
        self._app.closeAllWindows()
        self._app.exit(0)       # unlike quit(), not refused by a window that stays open

    def uninstall(self) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler if handler is not None else signal.SIG_DFL)
        signal.set_wakeup_fd(self._previous_fd)
        self._notifier.setEnabled(False)
        self._reader.close()
        self._writer.close()
