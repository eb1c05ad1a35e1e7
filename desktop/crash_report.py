"""A report support can ask for when the app died: fatal-error traceback plus the last log lines.

``CrashGuard(folder).begin()`` at start-up:

* if the previous session did not end cleanly (its marker file is still there: a fatal signal,
  a SIGKILL, a power cut), writes ``crash-YYYYmmdd-HHMMSS.txt`` from what that session left: the
  tracebacks Python's ``faulthandler`` wrote on the fatal signal (every thread), and the last lines
  of the app log. It returns that report's path, so the login window can tell the cadre where it is;
* points ``faulthandler`` at a fresh file, writes the marker, and logs to ``app.log`` (rotated).

``end()`` at a clean exit removes the marker. Nothing here imports Qt.

No personal data: the app's log lines carry codes and masked IDs only, and as a second line of
defence every line that goes into ``app.log`` or a report has ID numbers and telephone numbers
masked (``enrollment.masking``, the same rule as the registry's stored audit texts).
"""

from __future__ import annotations

import datetime as dt
import faulthandler
import logging
import logging.handlers
import os
import platform
import sys
from collections import deque
from pathlib import Path
from typing import IO

from enrollment.masking import mask_personal_numbers
from enrollment.private_files import private_dir, private_file

MARKER = "session.running"
FAULT_FILE = "fatal-traceback.txt"
LOG_FILE = "app.log"
LOG_TAIL_LINES = 200
REPORTS_KEPT = 10


def scrub(text: str) -> str:
    """ID numbers masked (5109**********1234), telephone numbers starred, everything else kept."""
    return mask_personal_numbers(text)


class _ScrubbingFormatter(logging.Formatter):
    """Scrubs the whole formatted line, tracebacks included."""

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


def _app_version() -> str:
    try:
        from importlib.metadata import version

        return version("yikatong")
    except Exception:  # noqa: BLE001 - a source checkout without metadata
        return "unknown"


class _PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """``app.log``: every file it opens (the first, and each after a rollover) is 0600."""

    def _open(self):  # noqa: ANN202 - logging's own signature
        private_file(self.baseFilename)
        return super()._open()


class CrashGuard:
    """The crash folder of one data folder (``<data>/crash``); one running app per folder."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self._fault: IO[str] | None = None
        self._handler: logging.Handler | None = None
        self.previous_report: Path | None = None

    @property
    def log_path(self) -> Path:
        return self.folder / LOG_FILE

    def begin(self) -> Path | None:
        """Report on an unclean previous session (its path, else None), then guard this one."""
        # Owner only (folder 0700, files 0600), also for what an older version left readable.
        private_dir(self.folder)
        for old in self.folder.iterdir():
            if old.is_file():
                private_file(old)
        self.previous_report = self._report_previous()
        self._fault = open(private_file(self.folder / FAULT_FILE), "w", encoding="utf-8")  # noqa: SIM115 - open for the session
        faulthandler.enable(file=self._fault, all_threads=True)
        private_file(self.folder / MARKER).write_text(
            f"pid {os.getpid()}\nstarted {dt.datetime.now().isoformat(timespec='seconds')}\n", encoding="utf-8")
        self._handler = _PrivateRotatingFileHandler(self.log_path, maxBytes=512 * 1024, backupCount=2,
                                                    encoding="utf-8")
        self._handler.setFormatter(_ScrubbingFormatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"))
        root = logging.getLogger()
        root.addHandler(self._handler)
        if root.level > logging.INFO or root.level == logging.NOTSET:
            root.setLevel(logging.INFO)
        # No package version here: importlib.metadata costs ~45 ms of every start; the report has it.
        logging.getLogger(__name__).info("session started: Python %s, %s", platform.python_version(),
                                         platform.platform())
        return self.previous_report

    def end(self) -> None:
        """A clean exit: nothing to report next time."""
        logging.getLogger(__name__).info("session ended cleanly")
        if faulthandler.is_enabled():
            faulthandler.disable()
        if self._fault is not None:
            self._fault.close()
            self._fault = None
        if self._handler is not None:
            logging.getLogger().removeHandler(self._handler)
            self._handler.close()
            self._handler = None
        (self.folder / MARKER).unlink(missing_ok=True)
        fault = self.folder / FAULT_FILE
        if fault.exists() and fault.stat().st_size == 0:
            fault.unlink()

    # ---- the report ---------------------------------------------------------------------
    def _report_previous(self) -> Path | None:
        marker = self.folder / MARKER
        if not marker.exists():
            return None
        started = marker.read_text(encoding="utf-8", errors="replace").strip()
        fault_path = self.folder / FAULT_FILE
        fault = fault_path.read_text(encoding="utf-8", errors="replace").strip() if fault_path.exists() else ""
        tail = self._log_tail()
        now = dt.datetime.now()
        report = self.folder / f"crash-{now:%Y%m%d-%H%M%S}.txt"
        lines = [
            "一卡通 登记 — 程序意外退出报告 (crash report)",
            f"written: {now.isoformat(timespec='seconds')}",
            f"yikatong {_app_version()} · Python {platform.python_version()} · {platform.platform()}",
            f"previous session: {' · '.join(started.splitlines())}",
            "",
            "== fatal error (faulthandler) ==",
            fault or "(none written: the process was killed or lost power, not a fatal error inside it)",
            "",
            f"== last {LOG_TAIL_LINES} log lines ==",
            *tail,
            "",
        ]
        private_file(report).write_text(scrub("\n".join(lines)), encoding="utf-8")
        marker.unlink()
        fault_path.unlink(missing_ok=True)
        self._prune()
        return report

    def _log_tail(self) -> list[str]:
        if not self.log_path.exists():
            return ["(no log)"]
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return [line.rstrip("\n") for line in deque(f, maxlen=LOG_TAIL_LINES)]

    def _prune(self) -> None:
        reports = sorted(self.folder.glob("crash-*.txt"))
        for old in reports[:-REPORTS_KEPT]:
            old.unlink(missing_ok=True)


def install_excepthook() -> None:
    """An exception escaping a Qt slot is logged (then reaches the crash report's log tail) instead of
    only going to a console a village laptop does not have."""
    previous = sys.excepthook

    def hook(kind, value, tb) -> None:
        logging.getLogger("yikatong.unhandled").error("unhandled %s", kind.__name__, exc_info=(kind, value, tb))
        previous(kind, value, tb)

    sys.excepthook = hook
