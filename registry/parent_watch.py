"""An embedded registry ends with the program that started it.

``yikatong demo`` (and the tests) start ``registry serve --exit-with-parent PID``. If that parent
dies without stopping its child (a crash, SIGKILL, a closed terminal), the registry would keep
running as an orphan, holding its database and port. A watch thread polls the parent twice a
second and asks the server to shut down once it is gone; if the shutdown hangs, the process ends.
Polling, not Linux's parent-death signal, because it works the same on Windows and does not depend
on which thread of the parent started the child.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

POLL_S = 0.5
FORCE_EXIT_AFTER_S = 10.0


def parent_alive(pid: int) -> bool:
    """Is ``pid`` still this process's parent (POSIX), or still running (Windows)?"""
    if sys.platform == "win32":
        import ctypes

        synchronize, wait_timeout = 0x00100000, 0x102
        kernel32 = ctypes.windll.kernel32
        handle = kernel32.OpenProcess(synchronize, False, pid)
        if not handle:
            return False
        try:
            return kernel32.WaitForSingleObject(handle, 0) == wait_timeout
        finally:
            kernel32.CloseHandle(handle)
    # A dead parent's children are re-parented (to init or a subreaper): the parent id changes.
    return os.getppid() == pid


def watch_parent(pid: int, shutdown: Callable[[], None], *, poll_s: float = POLL_S) -> threading.Thread:
    """Call ``shutdown()`` once ``pid`` is gone; ``os._exit`` if the process is still here later."""

    def run() -> None:
        stop = threading.Event()
        while parent_alive(pid):
            stop.wait(poll_s)
        log.warning("the parent process %d is gone: shutting down", pid)
        shutdown()
        stop.wait(FORCE_EXIT_AFTER_S)
        log.error("shutdown did not finish: exiting")
        os._exit(1)

    thread = threading.Thread(target=run, name="parent-watch", daemon=True)
    thread.start()
    return thread
