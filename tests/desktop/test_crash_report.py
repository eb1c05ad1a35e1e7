"""The crash guard: a clean session leaves nothing, an unclean one a scrubbed report on the next start."""

from __future__ import annotations

import faulthandler
import logging
import sys

import pytest

from desktop.crash_report import REPORTS_KEPT, CrashGuard, scrub

ID_NUMBER = "510903196803140118"


@pytest.fixture(autouse=True)
def _pytest_keeps_its_faulthandler():
    """The guard points faulthandler at its own file; give it back to pytest's stderr afterwards."""
    yield
    faulthandler.enable(file=sys.__stderr__, all_threads=True)


def test_scrub_masks_id_numbers_and_mobiles_and_keeps_the_rest():
    """ID numbers become 5109**********0118 and mobiles 139****1111; codes and other numbers stay."""
    text = f"error id_number.check_character {ID_NUMBER} phone 13900001111 seq=42 port 8765"
    assert scrub(text) == "error id_number.check_character 5109**********0118 phone 139****1111 seq=42 port 8765"


def test_a_clean_session_leaves_no_report(tmp_path):
    """begin() then end() removes the marker and the empty traceback file; the next begin() reports nothing."""
    guard = CrashGuard(tmp_path / "crash")
    assert guard.begin() is None
    guard.end()
    assert sorted(p.name for p in (tmp_path / "crash").iterdir()) == ["app.log"]
    again = CrashGuard(tmp_path / "crash")
    assert again.begin() is None
    again.end()


def test_an_unclean_session_gives_a_report_with_the_log_tail_and_no_personal_data(tmp_path):
    """A session that never called end() (killed) yields one report at the next start, with its last log
    lines, ID numbers masked even where a careless log line wrote one in full."""
    guard = CrashGuard(tmp_path / "crash")
    guard.begin()
    logging.getLogger("yikatong.test").warning("saving record for %s failed: store.locked", ID_NUMBER)
    # no end(): what a SIGKILL leaves; detach the handler as the dead process would have
    logging.getLogger().removeHandler(guard._handler)
    guard._handler.close()
    faulthandler.disable()

    nxt = CrashGuard(tmp_path / "crash")
    report = nxt.begin()
    nxt.end()
    assert report is not None and report.exists()
    text = report.read_text(encoding="utf-8")
    assert "store.locked" in text and "5109**********0118" in text
    assert ID_NUMBER not in text
    assert "killed or lost power" in text
    assert not (tmp_path / "crash" / "session.running").exists()


def test_only_the_newest_reports_are_kept(tmp_path):
    """At most REPORTS_KEPT reports stay in the folder, the newest ones."""
    folder = tmp_path / "crash"
    folder.mkdir()
    for i in range(REPORTS_KEPT + 3):
        (folder / f"crash-20260101-0000{i:02d}.txt").write_text("old", encoding="utf-8")
    (folder / "session.running").write_text("pid 1\n", encoding="utf-8")
    guard = CrashGuard(folder)
    report = guard.begin()
    guard.end()
    kept = sorted(p.name for p in folder.glob("crash-*.txt"))
    assert len(kept) == REPORTS_KEPT and report.name in kept
    assert "crash-20260101-000000.txt" not in kept


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")
def test_crash_folder_reports_and_logs_are_owner_only(tmp_path):
    """The crash folder is 0700 and its log, traceback file and reports 0600, also when an older version
    left them readable by everyone (issue 10)."""
    import os
    import stat

    def mode(p):
        return stat.S_IMODE(p.stat().st_mode)

    old = os.umask(0o022)
    try:
        folder = tmp_path / "crash"
        folder.mkdir(mode=0o755)
        (folder / "crash-20260101-000000.txt").write_text("old report", encoding="utf-8")
        os.chmod(folder / "crash-20260101-000000.txt", 0o644)
        guard = CrashGuard(folder)
        guard.begin()
        logging.getLogger("yikatong.test").warning("a line")
        assert mode(folder) == 0o700
        assert {p.name: mode(p) for p in folder.iterdir()} == {p.name: 0o600 for p in folder.iterdir()}
        # killed: the next start writes a report
        logging.getLogger().removeHandler(guard._handler)
        guard._handler.close()
        faulthandler.disable()
        nxt = CrashGuard(folder)
        report = nxt.begin()
        assert report is not None and mode(report) == 0o600
        nxt._handler.doRollover()
        assert {p.name: mode(p) for p in folder.iterdir()} == {p.name: 0o600 for p in folder.iterdir()}
        nxt.end()
    finally:
        os.umask(old)
