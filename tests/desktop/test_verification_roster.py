"""Remote verification on the field roster (protocol v4), on a real laptop store fed by a pull."""

from __future__ import annotations

from desktop_helpers import VILLAGE, roster_rows, run_op

from desktop.roster import RosterView
from sync import protocol


def _request(n: int, id_number: str, state: str, result: dict | None = None) -> dict:
    return {"request": f"00000000-0000-4000-8000-00000000000{n}", "id_number": id_number, "village_code": VILLAGE,
            "record_id": None, "city": "深圳", "method": "live", "state": state, "created_by": "c1",
            "created_at": f"2026-11-2{n}T08:00:00.000+00:00", "expires_at": f"2026-11-2{n + 3}T08:00:00.000+00:00",
            "updated_at": "2026-12-01T10:00:00.000+00:00", "attempts_max": 3, "attempts_used": 1,
            "attempts_left": 2, "result": result}


def _item(view: RosterView, id_number: str):
    tree = view.tree
    return next(tree.topLevelItem(i).child(j) for i in range(tree.topLevelItemCount())
                for j in range(tree.topLevelItem(i).childCount())
                if tree.topLevelItem(i).child(j).text(1) == id_number)


def test_roster_shows_each_members_latest_remote_verification(qtbot, owner, screens):
    """A passed request shows 核验通过 with its Beijing-time day, one that ended without a pass shows 需上门或人工核验 with
    its reasons in the tooltip, a newer request replaces an older one, and a member without one shows nothing."""
    rows = [{**r, "village_code": VILLAGE} for r in roster_rows()]
    run_op(qtbot, owner, lambda s: s.upsert_residents(rows, 1))
    passed, manual, waiting, plain = (r["id_number"] for r in rows[:4])
    changes = [
        _request(1, passed, "sent"),
        _request(2, passed, "passed", {"outcome": "passed", "decided_at": "2026-12-01T16:30:00.000+00:00",
                                       "reasons": []}),
        _request(3, manual, "manual", {"outcome": "failed", "reasons": ["match.too_low", "liveness.too_dark"]}),
        _request(4, waiting, "sent"),
    ]
    wire = [{"counter": 10 + i, "kind": protocol.KIND_VERIFICATION, "key": c["request"], "data": c}
            for i, c in enumerate(changes)]
    run_op(qtbot, owner, lambda s: s.apply_pull(wire, 20))

    view = RosterView(owner)
    qtbot.addWidget(view)
    view.resize(1000, 480)
    view.show()
    with qtbot.waitSignal(view.loaded, timeout=5000):
        view.set_villages([{"code": VILLAGE, "name": "大石村"}])
    assert view.tree.headerItem().text(5) == "远程核验"
    assert _item(view, passed).text(5) == "核验通过（2026-12-02）"
    assert _item(view, manual).text(5) == "需上门或人工核验"
    tip = _item(view, manual).toolTip(5)
    assert "外出务工城市：深圳" in tip and "原因：与登记照片不符；光线太暗" in tip
    assert _item(view, waiting).text(5) == "已发送链接（2026-11-27前有效）"
    assert _item(view, plain).text(5) == ""
    assert _item(view, passed).foreground(5).color().name() == "#1a7f37"
    screens(view, "roster_remote_verification")


def test_roster_says_a_video_pass_is_weaker_and_shows_a_video_check_waiting_for_the_sync(qtbot, owner):
    """A request passed by video shows 视频核验通过（弱于现场活体核验）; a member whose video check the laptop has
    recorded but not sent shows 视频核验已记录，待同步发送 with the local reasons in its tooltip, and 视频核验 is
    enabled only for a member whose request still takes a video."""
    from sync.verification_ops import LocalVideoCheck, record_video_check, video_task

    rows = [{**r, "village_code": VILLAGE} for r in roster_rows()]
    run_op(qtbot, owner, lambda s: s.upsert_residents(rows, 1))
    by_video, waiting = rows[0]["id_number"], rows[1]["id_number"]
    challenge = {"digits": "4821", "actions": ["turn_left", "open_mouth"]}
    changes = [
        {**_request(1, by_video, "passed", {"outcome": "passed", "reasons": []}), "method": "video",
         "video_challenge": challenge},
        {**_request(2, waiting, "opened"), "video_challenge": challenge},
    ]
    wire = [{"counter": 10 + i, "kind": protocol.KIND_VERIFICATION, "key": c["request"], "data": c}
            for i, c in enumerate(changes)]
    run_op(qtbot, owner, lambda s: s.apply_pull(wire, 20))
    local = LocalVideoCheck(clip=b"clip bytes", suffix=".mp4", sha256="", decision={
        "passed": False, "reasons": ["liveness.action_missed"], "checks": []})
    run_op(qtbot, owner, lambda s: record_video_check(s, video_task(s, waiting), local, True))

    view = RosterView(owner)
    qtbot.addWidget(view)
    with qtbot.waitSignal(view.loaded, timeout=5000):
        view.set_villages([{"code": VILLAGE, "name": "大石村"}])
    assert _item(view, by_video).text(5) == "视频核验通过（弱于现场活体核验）"
    assert _item(view, waiting).text(5) == "视频核验已记录，待同步发送"
    assert "本机检查：提示的动作没有做到" in _item(view, waiting).toolTip(5)
    view.tree.itemClicked.emit(_item(view, by_video), 0)
    assert not view.video_button.isEnabled()   # passed: the registry takes no more videos
    view.tree.itemClicked.emit(_item(view, waiting), 0)
    assert view.video_button.isEnabled()
    with qtbot.waitSignal(view.video_check_requested, timeout=2000) as asked:
        view.video_button.click()
    assert asked.args[0]["id_number"] == waiting


def test_a_chosen_member_stays_chosen_with_their_fresh_row_when_a_sync_brings_their_request(qtbot, owner):
    """After a refresh that brought the chosen member's first request, 视频核验 is enabled for them without choosing
    them again, and the form is not reloaded (no member_selected: it may hold unsaved edits)."""
    rows = [{**r, "village_code": VILLAGE} for r in roster_rows()]
    run_op(qtbot, owner, lambda s: s.upsert_residents(rows, 1))
    chosen = rows[0]["id_number"]
    view = RosterView(owner)
    qtbot.addWidget(view)
    view.set_online(True)
    with qtbot.waitSignal(view.loaded, timeout=5000):
        view.set_villages([{"code": VILLAGE, "name": "大石村"}])
    view.tree.itemClicked.emit(_item(view, chosen), 0)
    assert view.verify_button.isEnabled() and not view.video_button.isEnabled()

    request = {**_request(1, chosen, "sent"), "video_challenge": {"digits": "4821", "actions": ["blink", "turn_left"]}}
    run_op(qtbot, owner, lambda s: s.apply_pull(
        [{"counter": 10, "kind": protocol.KIND_VERIFICATION, "key": request["request"], "data": request}], 10))
    reselected = []
    view.member_selected.connect(reselected.append)
    with qtbot.waitSignal(view.loaded, timeout=5000):
        view.refresh()
    assert view.video_button.isEnabled()
    assert view.tree.currentItem() is _item(view, chosen)
    assert reselected == []
