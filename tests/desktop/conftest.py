"""pytest-qt fixtures for the desktop app: offscreen Qt, a real store, a real registry.

QT_QPA_PLATFORM=offscreen is set before Qt is imported, so the tests run without a screen;
fonts-noto-cjk must be installed for the Chinese in the screenshots to render.
"""

from __future__ import annotations

import datetime as dt
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

from enrollment import id_number as idn  # noqa: E402

VILLAGE = "510903102201"
VILLAGE_NAME = "大石村"
PASSWORD = "cadre-pass-1"

# (name, relation, household, sex sequence, birth) — one name outside the BMP (𠈌).
_PEOPLE = [
    ("张三", "户主", "H001", 11, dt.date(1968, 3, 14)),
    ("李秀英", "配偶", "H001", 22, dt.date(1970, 7, 2)),
    ("张小明", "子女", "H001", 31, dt.date(1995, 11, 30)),
    ("王𠈌", "户主", "H002", 41, dt.date(1955, 1, 9)),
    ("赵丽", "配偶", "H002", 52, dt.date(1958, 6, 21)),
    ("刘建国", "户主", "H003", 61, dt.date(1980, 5, 1)),
    ("陈芳", "子女", "H003", 72, dt.date(2004, 9, 18)),
]


def roster_rows() -> list[dict[str, str]]:
    rows = []
    for name, rel, hh, seq, birth in _PEOPLE:
        number = idn.make("510903", birth, seq)
        rows.append({
            "id_number": number, "name": name, "sex": "男" if seq % 2 else "女",
            "birth_date": birth.isoformat(), "household_id": hh, "relation": rel,
            "address": f"四川省遂宁市船山区大石村{hh[-1]}组", "phone": "",
        })
    return rows


def write_roster_csv(path) -> None:
    import csv

    rows = roster_rows()
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


@pytest.fixture(scope="session", autouse=True)
def _style(qapp):
    from desktop.ui import apply_style

    qapp.setApplicationName("一卡通 登记")
    apply_style(qapp)
    return qapp


@pytest.fixture
def screens(artifacts_dir):
    """Save a widget's screenshot as artifacts/screens/NAME.png."""
    def save(widget, name: str):
        path = artifacts_dir / "screens" / f"{name}.png"
        assert widget.grab().save(str(path)), path
        return path
    return save


@pytest.fixture
def field_registry(registry, tmp_path):
    """The real registry process with a cadre for the village and its roster imported by the CLI."""
    csv_path = tmp_path / "roster.csv"
    write_roster_csv(csv_path)
    done = registry.cli("import-roster", str(csv_path), "--village", VILLAGE, "--village-name", VILLAGE_NAME)
    assert done.returncode == 0, done.stderr
    done = registry.cli("add-operator", "--username", "cadre1", "--role", "cadre", "--village", VILLAGE,
                        "--display-name", "王干部", input=PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    return registry


@pytest.fixture
def owner(qtbot, tmp_path):
    """A StoreOwner on a fresh real store file, open and ready."""
    from desktop.store_worker import StoreOwner
    from sync.store import Store

    path = tmp_path / "laptop.sqlite3"
    o = StoreOwner(lambda: Store.open(path))
    with qtbot.waitSignal(o.opened, timeout=10_000):
        o.start()
    yield o
    o.shutdown()


def run_op(qtbot, owner, fn, timeout=10_000):
    """Run fn(store) on the store thread and return its result (test helper)."""
    box = {}
    owner.op(fn).success(lambda r: box.setdefault("ok", r)).failure(lambda e: box.setdefault("err", e)).run()
    qtbot.waitUntil(lambda: box, timeout=timeout)
    if "err" in box:
        raise box["err"]
    return box["ok"]
