"""A real registry for the central workspace tests: operators, rosters and a death record made by the
CLI, enrollments pushed over HTTP by two cadres (with card photos from the shared faces), and the
real identity and dataset-rule checks run by the real check runner.

What the records are (ids in ``CentralSetup.ids``):

``dup_a`` / ``dup_b``  the same ID number enrolled in village A and in village B by two cadres
                       (a same_id finding on each, about the other), different photos and addresses
``dead``               a resident in the deaths dataset (dataset_rule ``deceased``, intercept)
``clean1`` ``clean2``  nothing found: cleared

With ``faces=True`` also (through the capture pipeline, real templates, the real face_match check):

``face_a`` / ``face_b``  two different photos of one man (obama.jpg, obama3.jpg) under two ID numbers in two
                         villages: a face_match finding (intercept) on each, about the other
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PySide6.QtGui import QImage

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "registry"))
sys.path.insert(0, str(ROOT / "tests"))

import regkit  # noqa: E402
from regkit import VILLAGE_A, VILLAGE_B, Api, item, payload, resident, sha256, write_roster  # noqa: E402

from sync import protocol  # noqa: E402

CENTRAL_PASSWORD = "central-pass-1"
CADRE_PASSWORD = regkit.PASSWORD


def _faces_dir() -> Path:
    from facekit import FACES

    return FACES


def card_jpeg(name: str) -> bytes:
    """A shared face photo as a small card-sized JPEG (358×441, the face centred)."""
    image = QImage(str(_faces_dir() / name))
    assert not image.isNull(), name
    scaled = image.scaled(358, 441, Qt.AspectRatioMode.KeepAspectRatioByExpanding,
                          Qt.TransformationMode.SmoothTransformation)
    x = (scaled.width() - 358) // 2
    y = (scaled.height() - 441) // 2
    cropped = scaled.copy(x, max(0, y), 358, 441)
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    assert cropped.save(buf, "JPEG", 90)
    buf.close()
    return bytes(data.data())


def upload(api: Api, blob: bytes) -> dict:
    sha = sha256(blob)
    r = api.put_chunk(sha, 0, len(blob), blob)
    assert r.status_code == 200, r.text
    return {"kind": "card_photo", "sha256": sha, "size": len(blob), "mime": "image/jpeg"}


@dataclass
class CentralSetup:
    registry: object
    ids: dict[str, str] = field(default_factory=dict)
    payloads: dict[str, dict] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.registry.url  # type: ignore[attr-defined]

    def api(self, username: str = "central1", password: str = CENTRAL_PASSWORD) -> Api:
        return Api(self.url).login(username, password)


def face_attachments(api: Api, photo: str) -> tuple[list[dict], dict]:
    """Card photo + face template of a shared photo, made by the capture pipeline, uploaded; and the face info."""
    from facekit import engine, studio_photo

    from capture.pipeline import process_photo
    from enrollment.records import face_info

    result = process_photo(studio_photo(photo), engine())
    template = result.template
    card = upload(api, result.card_photo.jpeg)
    raw = template.to_bytes()
    tsha = sha256(raw)
    r = api.put_chunk(tsha, 0, len(raw), raw)
    assert r.status_code == 200, r.text
    quality = {c.code: c.value for c in result.report.checks}
    return ([card, {"kind": "face_template", "sha256": tsha, "size": len(raw),
                    "mime": "application/x-yikatong-face-template"}],
            face_info(template.model, template.version, quality))


def setup_central(registry, tmp_path: Path, *, faces: bool = False) -> CentralSetup:
    s = CentralSetup(registry)
    # rosters for both villages (the dashboard counts them), one of them with a deceased resident
    write_roster(tmp_path / "a.csv", [resident(i, VILLAGE_A) for i in range(1, 7)])
    write_roster(tmp_path / "b.csv", [resident(i, VILLAGE_B) for i in range(11, 15)])
    for path, village, name in ((tmp_path / "a.csv", VILLAGE_A, "大石村"), (tmp_path / "b.csv", VILLAGE_B, "小河村")):
        done = registry.cli("import-roster", str(path), "--village", village, "--village-name", name)
        assert done.returncode == 0, done.stderr
    # central2 hands out cards: the staff member who approved a record may not (separation of duties)
    for username, role, extra in (("central1", "central", []), ("central2", "central", []),
                                  ("cadre_a", "cadre", ["--village", VILLAGE_A]),
                                  ("cadre_b", "cadre", ["--village", VILLAGE_B])):
        pw = CENTRAL_PASSWORD if role == "central" else CADRE_PASSWORD
        done = registry.cli("add-operator", "--username", username, "--role", role, *extra,
                            "--display-name", {"central1": "周审核", "central2": "吴发卡", "cadre_a": "王干部",
                                                  "cadre_b": "刘干部"}[username],
                            input=pw + "\n")
        assert done.returncode == 0, done.stderr
    dead = resident(2, VILLAGE_A)
    deaths = tmp_path / "deaths.csv"
    deaths.write_text(f"id_number,name,death_date\n{dead['id_number']},{dead['name']},2025-03-02\n", encoding="utf-8")
    done = registry.cli("import-dataset", "deaths", str(deaths))
    assert done.returncode == 0, done.stderr
    # the card bank has made the clean residents' cards: mark-issued needs one (registry import-cards)
    made = tmp_path / "cards.csv"
    made.write_text("id_number,name,card_number,bank_account,bank,status,date\n" + "".join(
        f"{r['id_number']},{r['name']},62178531000000{i:05d},622848000000{i:05d},遂宁银行,已制卡,2026-11-01\n"
        for i, r in ((i, resident(i, VILLAGE_A)) for i in (3, 4))), encoding="utf-8")
    done = registry.cli("import-cards", str(made))
    assert done.returncode == 0, done.stderr

    cadre_a = Api(registry.url).login("cadre_a", CADRE_PASSWORD, device_id="laptop-a")
    cadre_b = Api(registry.url).login("cadre_b", CADRE_PASSWORD, device_id="laptop-b")
    obama, biden = card_jpeg("obama.jpg"), card_jpeg("biden.jpg")
    photo_a, photo_b = upload(cadre_a, obama), upload(cadre_b, biden)
    wanted = {
        "dup_a": (cadre_a, payload(1, VILLAGE_A, attachments=[photo_a], name="王明学")),
        "dead": (cadre_a, payload(2, VILLAGE_A, name="李秀英", subsidies=["pension_rural"])),
        "clean1": (cadre_a, payload(3, VILLAGE_A, name="张建华")),
        "clean2": (cadre_a, payload(4, VILLAGE_A, name="陈桂兰")),
        # the same ID number as dup_a, enrolled again in village B with another address and photo
        "dup_b": (cadre_b, payload(1, VILLAGE_B, attachments=[photo_b], name="王明学", address="小河村3组")),
    }
    if faces:
        atts_a, face_a = face_attachments(cadre_a, "obama.jpg")
        atts_b, face_b = face_attachments(cadre_b, "obama3.jpg")
        wanted["face_a"] = (cadre_a, payload(5, VILLAGE_A, attachments=atts_a, face=face_a, name="赵国强"))
        wanted["face_b"] = (cadre_b, payload(13, VILLAGE_B, attachments=atts_b, face=face_b, name="孙志远"))
    for key, (api, p) in wanted.items():
        result = api.push_one(item(p))
        assert result["status"] == "accepted", result
        s.ids[key] = p["record_id"]
        s.payloads[key] = p
    cadre_a.close()
    cadre_b.close()
    run_real_checks(registry, list(s.ids.values()), faces=faces)
    # The registry's own check worker may hold some of them in a run of its own: wait until all are routed.
    api = s.api()
    deadline = time.monotonic() + 30
    while True:
        states = {i["record_id"]: i["state"] for i in api.get(protocol.REVIEW_QUEUE).json()["items"]}
        if len(states) == len(s.ids) and not {"received", "checked"} & set(states.values()):
            break
        assert time.monotonic() < deadline, states
        time.sleep(0.2)
    api.close()
    return s


def run_real_checks(registry, record_ids: list[str], *, faces: bool = False) -> dict:
    """The real runner with the real same_id, dataset-rule (and face) checks, on the registry's database."""
    from registry.checks import CheckConfig, identity, rules
    from registry.checks.runner import run_checks
    from registry.db import open_database

    engine = open_database(registry.db_url)
    try:
        checks = [identity.same_id, rules.dataset_rules]
        index = None
        if faces:
            from registry.checks import faces as face_checks

            index = face_checks.RegistryFaceIndex.load(engine)
            checks.append(face_checks.face_match)
        return run_checks(engine, config=CheckConfig.load(), rules=rules.RuleSet.load(), face_index=index,
                          now=dt.datetime.now(dt.UTC), actor="test", record_ids=record_ids, checks=checks)
    finally:
        engine.dispose()
