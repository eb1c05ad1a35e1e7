"""Made-up residents, roster/enrollment CSV files and store helpers for the field tests.

ID numbers are valid (check character, real dates) and belong to nobody.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import random
import sqlite3
import subprocess
import sys
from pathlib import Path

from enrollment import id_number as idn
from enrollment.roster_csv import COLUMNS
from sync.client import login_online
from sync.store import Store

ROOT = Path(__file__).resolve().parent.parent.parent
VILLAGE = "510903102201"
OTHER_VILLAGE = "510903102202"
PASSWORD = "field-password-1"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙胡朱高林何郭马罗"
GIVEN = ["明学", "建国", "志强", "秀英", "桂兰", "𠈌芬", "小红", "德华", "永福", "淑珍", "俊杰", "成"]


def person(i: int, village: str = VILLAGE, region: str = "510921") -> dict:
    """Resident number ``i`` (unique for i < 1000 per region)."""
    birth = dt.date(1940 + i % 70, 1 + i % 12, 1 + i % 28)
    number = idn.make(region, birth, i % 1000)
    return {
        "id_number": number, "name": SURNAMES[i % len(SURNAMES)] + GIVEN[(i // 3) % len(GIVEN)],
        "sex": "男" if int(number[16]) % 2 else "女", "birth_date": birth.isoformat(),
        "village_code": village, "household_id": f"H{i // 4:04d}", "relation": "户主" if i % 4 == 0 else "子女",
        "address": f"大石村{i % 9 + 1}组", "phone": "" if i % 3 else f"139{i:08d}",
    }


def people(n: int, start: int = 0, village: str = VILLAGE) -> list[dict]:
    return [person(i, village) for i in range(start, start + n)]


def enrollment_fields(p: dict, **extra) -> dict:
    """What a cadre submits for resident ``p``: consent given, region warnings confirmed."""
    warnings = list(idn.parse(p["id_number"]).warnings)
    return {**p, "consent": True, "confirmed_warnings": warnings, **extra}


def write_csv(path: Path, rows: list[dict], extra_columns: tuple[str, ...] = ()) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow([*COLUMNS, *extra_columns])
        for r in rows:
            w.writerow([r.get(c, "") for c in (*COLUMNS, *extra_columns)])
    return path


def random_bytes(n: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(n)


def store_counts(path: Path) -> dict[str, int]:
    """Counts per state read straight from a store file another process is writing (read-only)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        return dict(conn.execute("SELECT state, count(*) FROM records GROUP BY state").fetchall())
    except sqlite3.OperationalError:
        return {}
    finally:
        conn.close()


def setup_registry(registry, tmp_path, *, roster: int = 20, operators=("c1",)) -> None:
    """Operators (cadres of VILLAGE) and a roster, through the real ``yikatong registry`` CLI."""
    for username in operators:
        done = registry.cli("add-operator", "--username", username, "--role", "cadre", "--village", VILLAGE,
                            input=PASSWORD + "\n")
        assert done.returncode == 0, done.stderr
    if roster:
        csv_path = write_csv(tmp_path / "roster.csv", people(roster))
        done = registry.cli("import-roster", str(csv_path), "--village", VILLAGE, "--village-name", "大石村")
        assert done.returncode == 0, done.stderr


def open_laptop(registry, path, username: str = "c1") -> Store:
    store = Store.open(path)
    login_online(store, registry.url, username, PASSWORD)
    return store


def yikatong(*args: str, input: str | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the real CLI in a child process (the entry point a person uses)."""
    return subprocess.run([sys.executable, "-m", "cli.main", *args], input=input, capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"}, timeout=timeout)
