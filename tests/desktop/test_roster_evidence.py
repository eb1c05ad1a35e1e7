"""The roster findings read in Chinese in the central workspace, naming the other village."""

from __future__ import annotations

from desktop.central.evidence import readable
from desktop.central.labels import kind_name
from enrollment.vocabulary import FindingKind


def test_roster_findings_read_in_chinese_with_the_other_village(qapp):
    here = {"village_code": "510903102201", "village_name": "大石村"}
    other = readable({"kind": FindingKind.ROSTER_OTHER_VILLAGE, "evidence": {
        "village": here, "roster_village": {"village_code": "510903102202", "village_name": "小河村"}}})
    assert other[0] == "登记的村：大石村（510903102201）"
    assert "此人在另一个村的花名册上：小河村（510903102202）" in other
    nowhere = readable({"kind": FindingKind.NOT_ON_ROSTER, "evidence": {"village": here}})
    assert nowhere[0] == "登记的村：大石村（510903102201）" and "不在本村花名册上" in nowhere[1]
    assert (kind_name(FindingKind.NOT_ON_ROSTER), kind_name(FindingKind.ROSTER_OTHER_VILLAGE)) == (
        "不在本村花名册", "在他村花名册")


def test_same_id_evidence_names_the_other_laptop_as_the_history_does(qapp):
    """The same-ID evidence names the other laptop as 电脑 + the start of its id (as the 历史 tab), not its whole UUID."""
    device = "799ece35-4356-400a-b1ad-8f758b9b3a99"
    text = readable({"kind": FindingKind.SAME_ID, "evidence": {"other": {
        "village_code": "510903102201", "operator": "cadre", "device_id": device, "state": "needs_review",
        "version": 1, "record_id": "r-1"}, "differing_fields": ["address"]}})
    assert "　登记人：cadre　登记电脑：电脑 799ece35" in text
    assert not any(device in line for line in text)
