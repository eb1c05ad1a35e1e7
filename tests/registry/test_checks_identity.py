"""Identity checks: the same ID number in another record, and near-identical people under different ID numbers (equal to a brute-force comparison)."""

from __future__ import annotations

import json
import random
import uuid
from decimal import Decimal

import pytest
from checkkit import context, store_record
from regkit import VILLAGE_A, VILLAGE_B, id_number, payload

from registry.checks import DEMOGRAPHIC, FLAG, SAME_ID
from registry.checks.identity import Person, Scorer, demographic, mapped_name, name_key, same_id
from registry.db import open_database

VILLAGE_C = "510903102203"


@pytest.fixture
def engine(registry_db_url):
    eng = open_database(registry_db_url)
    yield eng
    eng.dispose()


def test_variant_characters_and_pinyin():
    """Traditional and simplified forms map to one name, and homophones share a pinyin key."""
    assert mapped_name("張傑") == mapped_name("张杰") == "张杰"
    assert mapped_name("劉德華") == "刘德华" and mapped_name("陳峯") == "陈峰" and mapped_name("羣") == "群"
    assert mapped_name("阿依·古丽") == "阿依古丽"
    assert name_key("王明学") == name_key("王明雪") == "wangmingxue"
    assert name_key("張偉") == name_key("张伟")


def test_same_id_in_another_village_and_within_the_batch(engine):
    """A second record with the same ID number, elsewhere or in the same batch, is flagged with the other's details; a deleted one is not."""
    p1 = payload(1, VILLAGE_A)
    first = store_record(engine, p1, operator="cadre_a", device_id="laptop-1", state="approved")
    second = store_record(engine, {**payload(1, VILLAGE_B), "address": "别处"}, operator="cadre_b",
                          device_id="laptop-9")
    third = store_record(engine, payload(1, VILLAGE_A))
    store_record(engine, payload(1, VILLAGE_C), deleted=True)
    lonely = store_record(engine, payload(2, VILLAGE_A))
    with engine.connect() as conn:
        result = same_id(context(conn), [second, third, lonely])
    assert lonely.record_id not in result.findings
    by_subject = {f.subject: f for f in result.findings[second.record_id]}
    assert set(by_subject) == {first.record_id, third.record_id}
    f = by_subject[first.record_id]
    assert (f.kind, f.severity, f.rule) == (SAME_ID, FLAG, "")
    assert f.evidence["other"] == {"record_id": first.record_id, "version": 1, "village_code": VILLAGE_A,
                                   "operator": "cadre_a", "device_id": "laptop-1", "state": "approved"}
    assert f.evidence["differing_fields"] == ["address", "village_code"]
    assert {f.subject for f in result.findings[third.record_id]} == {first.record_id, second.record_id}
    [count] = result.counts
    assert (count.rule_id, count.compared, count.flagged) == (SAME_ID, 3, 2)
    json.dumps(f.evidence)


def person_payload(name: str, birth: str, sex: str, village: str, number: str) -> dict:
    return {"record_id": str(uuid.uuid4()), "id_number": number, "name": name, "birth_date": birth,
            "sex": sex, "village_code": village}


def test_demographic_variant_name_scores_and_evidence(engine):
    """張杰 and 张杰 with the same birth date and sex in one village are reported with score and components; another village is not."""
    a = store_record(engine, person_payload("张杰", "1980-05-01", "男", VILLAGE_A, id_number(1)))
    b = store_record(engine, person_payload("張傑", "1980-05-01", "男", VILLAGE_A, id_number(2)))
    store_record(engine, person_payload("张杰", "1980-05-01", "男", VILLAGE_B, id_number(3)))
    c = store_record(engine, person_payload("王明学", "1970-01-01", "女", VILLAGE_A, id_number(4)))
    with engine.connect() as conn:
        result = demographic(context(conn), [a, c])
    assert c.record_id not in result.findings
    [f] = result.findings[a.record_id]
    assert (f.kind, f.severity, f.subject, f.score) == (DEMOGRAPHIC, FLAG, b.record_id, "0.9800")
    assert f.evidence["components"] == {"name": "0.9500", "birth_date": "1.0000", "sex": "1.0000",
                                        "village": "1.0000"}
    assert f.evidence["threshold"] == "0.8500"
    assert f.evidence["other"]["name"] == "張傑" and f.evidence["record"]["village_code"] == VILLAGE_A
    assert [(x.rule_id, x.compared, x.flagged) for x in result.counts] == [(DEMOGRAPHIC, 2, 1)]


SURNAMES = ["张", "張", "章", "王", "汪", "刘", "劉", "陈", "陳"]
GIVEN = ["杰", "傑", "洁", "伟", "偉", "峰", "峯", "明学", "明雪", "群", "羣"]


def generated(engine, n: int, seed: int) -> list:
    """Records crowded into few names, dates and villages, so that many pairs are near each other."""
    rnd = random.Random(seed)
    out = []
    numbers = [id_number(i) for i in range(n)]
    for i in range(n):
        birth = f"{rnd.choice([1960, 1961, 1980])}-{rnd.choice(['01', '05'])}-{rnd.choice(['01', '10'])}"
        number = numbers[i] if rnd.random() > 0.1 else numbers[rnd.randrange(n)]  # some share an ID number
        p = person_payload(rnd.choice(SURNAMES) + rnd.choice(GIVEN), birth, rnd.choice("男女"),
                           rnd.choice([VILLAGE_A, VILLAGE_B, VILLAGE_C]), number)
        out.append(store_record(engine, p, deleted=rnd.random() < 0.05))
    return out


def brute_force(scorer: Scorer, people: list[Person]) -> set[tuple[str, str, str]]:
    """Every ordered pair under different ID numbers scoring at least the threshold, comparing all pairs."""
    out = set()
    for a in people:
        for b in people:
            if a.record_id != b.record_id and a.id_number != b.id_number:
                total = scorer.score(scorer.components(a, b))
                if total >= scorer.threshold:
                    out.add((a.record_id, b.record_id, str(total.quantize(Decimal("0.0001")))))
    return out


@pytest.mark.parametrize("weights", [None, {"name": "0.50", "birth_date": "0.30", "sex": "0.10", "village": "0.10"},
                                     {"name": "0.40", "birth_date": "0.30", "sex": "0.20", "village": "0.10"}],
                         ids=["village-required", "village-not-required", "sex-required"])
def test_demographic_equals_brute_force(engine, tmp_path, weights):
    """Over generated look-alikes checked in batches, the blocked search finds exactly the pairs a brute-force comparison finds."""
    path = None
    if weights:
        path = tmp_path / "weights.json"
        path.write_text(json.dumps({"weights": weights, "name_scores": {"exact": "1", "variant": "0.95", "pinyin": "0.85"},
                                    "birth_scores": {"exact": "1", "same_year": "0.5"}}), encoding="utf-8")
    scorer = Scorer.load(0.85, path)
    assert ("village" in scorer.required) is (weights is None)
    assert ("sex" in scorer.required) is (weights is not None and weights["sex"] == "0.20")
    assert "name" in scorer.required and "birth_date" in scorer.required
    records = generated(engine, 240, seed=11)
    live = [r for r in records if not r.deleted]
    found = set()
    with engine.connect() as conn:
        for start in range(0, len(live), 37):
            result = demographic(context(conn), live[start:start + 37], scorer=scorer)
            found |= {(rid, f.subject, f.score) for rid, fs in result.findings.items() for f in fs}
    people = [Person.of(r.record_id, r.version, r.id_number, r.village_code, r.payload) for r in live]
    expected = brute_force(scorer, people)
    assert len(expected) > 50   # the data really has near-duplicates of every kind
    assert found == expected
