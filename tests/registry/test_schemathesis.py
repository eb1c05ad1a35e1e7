"""schemathesis against a real registry process: every answer matches /openapi.json, none is a 5xx.

One registry on SQLite (the description does not depend on the database) with a cadre of village A, a
central operator and one pushed record (its id is given to the record routes, so they answer 200 and 409
as well as 404). schemathesis runs once with the cadre's token and once with the central one, then once
on logout alone with a token of its own (logging out revokes the token every later case would use).
The totals go to the terminal at the end of the run (``schemathesis: N operations, M cases, F failures``).

Checks: every built-in one but two, which test something other than the description's exactness:
``positive_data_acceptance`` (a schema-valid request may break a rule of the domain: a wrong password, a
chunk past the blob's size; and strict bodies refuse 5.0 for an integer, which JSON Schema calls one) and
``unsupported_method`` (``PUT /api/blobs/status`` is ``PUT /api/blobs/{sha256}`` with a name that is not a
SHA-256, rightly 422). A request without the protocol header is answered 426 (protocol.unsupported_version,
what the laptop acts on), so 426 is among the statuses expected for invalid data.

schemathesis runs with one worker: with two, hypothesis's reading of its own lambdas' source raced on
Python 3.11 (``SystemError: AST constructor recursion depth mismatch``, an error of the tool, not the API).
``YK_SCHEMATHESIS_EXAMPLES`` (default 8) is the cases per operation and phase; 8 keeps the test near a
minute and a half on two cores. ``YK_SCHEMATHESIS_SEED`` repeats a run. tests/registry/schemathesis_hooks.py
drops one false alarm of the tool (a "negative" header case that the configured token made valid again).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from regkit import PASSWORD, VILLAGE_A, Api, import_test_roster, item, payload

from registry.db import open_database
from sync import protocol
from tests.conftest import RegistryProcess
from tests.registry.schemathesis_hooks import TOKEN_VARIABLE

HOOKS = str(Path(__file__).with_name("schemathesis_hooks.py"))
EXAMPLES = os.environ.get("YK_SCHEMATHESIS_EXAMPLES", "8")
SKIPPED_CHECKS = ("positive_data_acceptance", "unsupported_method")
INVALID_DATA_STATUSES = [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 426, 428, 429]
MISSING_HEADER_STATUSES = [400, 401, 403, 406, 415, 422, 426]


def _config(path: Path, record_id: str) -> Path:
    path.write_text(f"""
[auth.openapi.bearer]
bearer = "${{{TOKEN_VARIABLE}}}"

[parameters]
record_id = "{record_id}"

[checks.negative_data_rejection]
expected-statuses = {INVALID_DATA_STATUSES}

[checks.missing_required_header]
expected-statuses = {MISSING_HEADER_STATUSES}
""" + "".join(f"\n[checks.{name}]\nenabled = false\n" for name in SKIPPED_CHECKS), encoding="utf-8")
    return path


def _run(url: str, token: str, config: Path, report: Path, *extra: str) -> dict:
    seed = os.environ.get("YK_SCHEMATHESIS_SEED")
    cmd = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run", url + "/openapi.json",
           "--max-examples", EXAMPLES, "--report", "json", "--report-json-path", str(report),
           "--no-color", *(["--seed", seed] if seed else []), *extra]
    # In the run's folder: schemathesis and hypothesis leave their caches in the working directory.
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=report.parent,
                          env={**os.environ, TOKEN_VARIABLE: token, "SCHEMATHESIS_HOOKS": HOOKS})
    assert report.exists(), done.stdout[-4000:] + done.stderr[-4000:]
    out = json.loads(report.read_text(encoding="utf-8"))
    out["output"] = done.stdout
    return out


@pytest.fixture
def seeded(tmp_path):
    """A registry with a cadre of village A, a central operator and one record the cadre pushed."""
    url = f"sqlite:///{tmp_path / 'registry.sqlite3'}"
    engine = open_database(url)
    import_test_roster(engine, tmp_path / "roster")
    engine.dispose()
    proc = RegistryProcess(url, tmp_path / "data").start()
    for username, role, villages in (("cadre_a", "cadre", [VILLAGE_A]), ("central", "central", [])):
        args = ["add-operator", "--username", username, "--role", role]
        for v in villages:
            args += ["--village", v]
        r = proc.cli(*args, input=PASSWORD + "\n")
        assert r.returncode == 0, r.stderr
    yield proc
    proc.stop()


def test_schemathesis_finds_nothing(seeded, tmp_path, record_property):
    """Every operation, with a cadre's and a central token: no 5xx, no undeclared status, no answer off its schema."""
    anonymous = Api(seeded.url)
    # Every token before the first run: its random logins may lock 127.0.0.1 out for a while.
    cadre, central, leaving = (anonymous.login(u) for u in ("cadre_a", "central", "central"))
    record = payload(1)
    assert cadre.push_one(item(record))["status"] == protocol.ACCEPTED
    config = _config(tmp_path / "schemathesis.toml", record["record_id"])
    runs = [
        ("cadre", _run(seeded.url, cadre.token, config, tmp_path / "cadre.json",
                       "--exclude-path", protocol.LOGOUT)),
        ("central", _run(seeded.url, central.token, config, tmp_path / "central.json",
                         "--exclude-path", protocol.LOGOUT)),
        ("logout", _run(seeded.url, leaving.token, config, tmp_path / "logout.json",
                        "--include-path", protocol.LOGOUT)),
    ]
    operations = _declared(seeded.url)
    cases = sum(r["test_cases"]["generated"] for _, r in runs)
    failures = sum(r["test_cases"]["unique_failures"] for _, r in runs)
    errors = sum(len(r["errors"]) for _, r in runs)
    dropped = sum(int(r.get("filtered") or 0) for _, r in runs)  # false alarms schemathesis_hooks.py dropped
    seeds = ", ".join(f"{name} {r['seed']}" for name, r in runs)
    line = (f"schemathesis: {len(operations)} operations, {cases} cases, {failures} failures, {errors} errors, "
            f"{dropped} false alarms dropped (seeds: {seeds})")
    record_property("summary", line)  # printed at the end of the run by tests/conftest.py, also under xdist
    for client in (anonymous, cadre, central, leaving):
        client.close()
    for name, r in runs:
        assert r["exit_code"] == 0 and r["test_cases"]["unique_failures"] == 0 and not r["errors"], (
            f"{name} run:\n{r['output'][-15000:]}")
        assert r["operations"]["tested"] == r["operations"]["selected"] > 0, r["operations"]
    # The three runs together cover every operation the registry describes.
    assert sum(r["operations"]["selected"] for _, r in runs[1:]) == len(operations)


def _declared(url: str) -> set[tuple[str, str]]:
    schema = httpx.get(url + "/openapi.json").json()
    return {(method, path) for path, ops in schema["paths"].items() for method in ops}
