"""The migrant worker's verification page in Debian's Chromium at phone size (390 x 844), with a fake
camera playing a real face clip, against the stand-in server (tests/registry/verify_page_server.py).

Every step is screenshotted to artifacts/screens/verify_*.png for a person to look at.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from fake_camera import HAMILTON_CLIP, clip_to_y4m
from playwright.sync_api import sync_playwright
from verify_page_server import (
    CONSENT_TEXT,
    FRAMES,
    ID_TAIL,
    NAME_MASKED,
    RETRY_AFTER_S,
    STEPS,
    TOKEN_EXPIRED,
    TOKEN_GOOD,
    TOKEN_LIMITED,
    TOKEN_USED_UP,
    WRONG_TRIES,
    StandInServer,
)

CHROMIUM = "/usr/bin/chromium"
PHONE = {"width": 390, "height": 844}
FAKE_DEVICE = "--use-fake-device-for-media-stream"
FAKE_UI = "--use-fake-ui-for-media-stream"
RAW_CAP, GZIP_CAP = 200 * 1024, 60 * 1024


# Records what the page asks of the camera (the real call still runs).
RECORD_GUM = """
(() => {
  window.__gum = [];
  const md = navigator.mediaDevices;
  if (!md || !md.getUserMedia) return;
  const real = md.getUserMedia.bind(md);
  md.getUserMedia = (c) => { window.__gum.push(JSON.parse(JSON.stringify(c))); return real(c); };
})();
"""
# Records what the page speaks (instead of speaking it).
RECORD_SPEECH = """
window.__said = [];
Object.defineProperty(window, "speechSynthesis", {configurable: true,
  value: {speak: (u) => window.__said.push([u.text, u.lang]), cancel: () => {}}});
"""
# A browser without speech synthesis.
NO_SPEECH = """
Object.defineProperty(window, "speechSynthesis", {configurable: true, value: undefined});
Object.defineProperty(window, "SpeechSynthesisUtterance", {configurable: true, value: undefined});
"""
# Records every prompt and countdown the page showed, so a slow machine cannot hide a step between polls.
RECORD_SCREEN = """
window.__shown = {prompt: [], countdown: []};
document.addEventListener("DOMContentLoaded", () => {
  for (const id of ["prompt", "countdown"]) {
    const el = document.getElementById(id);
    new MutationObserver(() => {
      const seen = window.__shown[id];
      if (el.textContent && seen[seen.length - 1] !== el.textContent) seen.push(el.textContent);
    }).observe(el, {childList: true, characterData: true, subtree: true});
  }
});
"""


@pytest.fixture(scope="module")
def server():
    srv = StandInServer().start()
    yield srv
    srv.stop()


@pytest.fixture
def stand_in(server):
    return server.reset()


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("camera")
    return {"face": clip_to_y4m(HAMILTON_CLIP, folder / "face.y4m", width=320),
            "dark": clip_to_y4m(HAMILTON_CLIP, folder / "dark.y4m", width=320, max_frames=60, gain=0.25)}


@pytest.fixture(scope="module")
def pw():
    with sync_playwright() as p:
        yield p


@pytest.fixture
def open_page(pw, server, clips):
    """open_page(token, camera=..., fake_ui=..., permissions=...) -> a page at phone size, at /verify?t=token."""
    browsers = []

    def open_(token: str | None = TOKEN_GOOD, *, camera: str | None = "face", fake_ui: bool = True,
              permissions: list[str] | None = None, init_script: str = RECORD_GUM + RECORD_SCREEN):
        args = []
        if camera:
            args += [FAKE_DEVICE, f"--use-file-for-fake-video-capture={clips[camera]}"]
        if fake_ui:
            args.append(FAKE_UI)
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=args)
        browsers.append(browser)
        context = browser.new_context(viewport=PHONE, device_scale_factor=1, locale="zh-CN",
                                      permissions=permissions if permissions is not None else [])
        page = context.new_page()
        page.add_init_script(init_script)
        page.goto(f"{server.url}/verify" + (f"?t={token}" if token else ""))
        return page

    yield open_
    for browser in browsers:
        browser.close()


@pytest.fixture
def shot(artifacts_dir):
    def save(page, name: str) -> Path:
        path = artifacts_dir / "screens" / f"verify_{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path
    return save


def visible_text(page) -> str:
    return page.locator("body").inner_text()


def unlock(page, tail: str = ID_TAIL) -> None:
    page.fill("#id-tail", tail)
    page.click("#unlock")


def wait_prompt(page, text: str, timeout: float = 15000) -> None:
    """Until the page has shown ``text`` as its prompt (now or a moment ago on a slow machine)."""
    page.wait_for_function("t => window.__shown.prompt.includes(t)", arg=text, timeout=timeout)


def test_nothing_about_the_person_shows_before_the_id_digits_match(open_page, stand_in, shot):
    """Until the unlock answers, neither the page's source nor its text carry the name; wrong digits keep it hidden."""
    page = open_page()
    page.wait_for_selector("#id-tail")
    assert "身份证号码的最后 6 位" in visible_text(page)
    for seen in (page.content(), visible_text(page)):
        assert NAME_MASKED not in seen and "张" not in seen
    assert stand_in.calls == []
    shot(page, "01_unlock")

    unlock(page, "123456")
    page.wait_for_selector("#msg:not([hidden])")
    text = visible_text(page)
    assert "身份证号最后 6 位不对" in text and f"还可以再试 {WRONG_TRIES - 1} 次" in text
    assert NAME_MASKED not in page.content() and page.is_visible("#s-unlock")
    shot(page, "02_wrong_digits")

    unlock(page, ID_TAIL.lower())  # a lowercase x is the same X
    page.wait_for_selector("#s-consent:not([hidden])")
    assert f"{NAME_MASKED}，您好" in visible_text(page)


def test_the_x_key_types_the_letter_a_numeric_keypad_lacks(open_page, stand_in):
    """The big X button appends X, and the input keeps only digits and X, at most 6."""
    page = open_page()
    page.fill("#id-tail", "1234a5")
    assert page.input_value("#id-tail") == "12345"
    page.click("#add-x")
    assert page.input_value("#id-tail") == "12345X"
    page.click("#add-x")
    assert page.input_value("#id-tail") == "12345X"
    assert page.get_attribute("#id-tail", "inputmode") == "numeric"


@pytest.mark.parametrize(("token", "words", "name"), [
    (TOKEN_EXPIRED, "这个链接已经过期", "13_expired"),
    (TOKEN_USED_UP, "这个链接已经用完了", "14_used_up"),
    ("not-a-token", "这个链接无效", "15_token_unknown"),
    (TOKEN_LIMITED, f"请等 {RETRY_AFTER_S // 60} 分钟后再试", "16_rate_limited"),
])
def test_each_refusal_of_the_link_is_said_in_chinese(open_page, stand_in, shot, token, words, name):
    """An expired, used-up, unknown or rate-limited link is refused with its own message and no retry button."""
    page = open_page(token)
    unlock(page)
    page.wait_for_selector("#msg:not([hidden])")
    assert words in visible_text(page)
    assert not page.is_visible("#retry")
    assert page.is_visible("#s-unlock") == (token == TOKEN_LIMITED)  # a dead link leaves no form to retry
    shot(page, name)


def test_too_many_wrong_digits_are_rate_limited_with_the_wait(open_page, stand_in):
    """After the allowed wrong tries the page says how long to wait (from Retry-After)."""
    page = open_page()
    for _ in range(WRONG_TRIES):
        unlock(page, "000000")
        page.wait_for_selector("#msg:not([hidden])")
    unlock(page, ID_TAIL)
    page.wait_for_function("document.getElementById('msg-text').textContent.includes('分钟后再试')")
    assert "还可以再试 0 次" not in visible_text(page)


def test_a_link_without_its_token_says_so(open_page, stand_in, shot):
    """Opening /verify without t tells the worker to use the full link and offers the offline path."""
    page = open_page(None)
    page.wait_for_selector("#msg:not([hidden])")
    assert "链接不完整" in visible_text(page) and "上门核验" in visible_text(page)
    shot(page, "22_no_token")


def test_a_dropped_connection_keeps_the_digits_and_retries(open_page, stand_in, shot):
    """A failed unlock request shows 网络不好 with 重试; the typed digits stay and 重试 goes on."""
    page = open_page()
    page.route("**/api/verify/unlock", lambda route: route.abort("internetdisconnected"))
    unlock(page)
    page.wait_for_selector("#retry:not([hidden])")
    assert "网络不好" in visible_text(page)
    assert page.input_value("#id-tail") == ID_TAIL
    shot(page, "17_network")
    page.unroute("**/api/verify/unlock")
    page.click("#retry")
    page.wait_for_selector("#s-consent:not([hidden])")


def test_refusing_consent_shows_the_offline_path(open_page, stand_in, shot):
    """The consent names what, why, how long and PIPL; 不同意 leads to the home visit / video path, nothing sent."""
    page = open_page()
    unlock(page)
    page.wait_for_selector("#s-consent:not([hidden])")
    text = visible_text(page)
    for words in ("脸部照片", "核验结果", "社会保障卡", "待遇资格认证", "90 天", "敏感个人信息", "个人信息保护法",
                  "单独同意", "上门核验", "同意并继续", "不同意"):
        assert words in text, words
    page.click("#consent-full summary")
    assert CONSENT_TEXT in visible_text(page)
    shot(page, "03_consent")
    page.click("#disagree")
    page.wait_for_selector("#s-offline:not([hidden])")
    assert "上门核验" in visible_text(page) and "视频核验" in visible_text(page)
    assert "consent" not in stand_in.calls
    shot(page, "04_consent_refused")


def to_camera(page) -> None:
    unlock(page)
    page.wait_for_selector("#s-consent:not([hidden])")
    page.click("#agree")
    page.wait_for_selector("#s-camera:not([hidden])")


def test_every_step_from_a_failed_attempt_to_a_pass(open_page, stand_in, shot, server):
    """The whole walk: camera from the tap, the server's steps with countdowns, JPEG frames with the nonce,
    a failure with reasons and 再试一次, then 核验通过."""
    stand_in.outcomes = [
        {"result": "retry", "reasons": ["match.too_low", "liveness.action_missed", "liveness.presentation_attack"],
         "attempts_left": 2, "state": "opened"},
        {"result": "passed", "reasons": [], "attempts_left": 1, "state": "passed"},
    ]
    stand_in.finish_delay_s = 1.5
    page = open_page(init_script=RECORD_GUM + RECORD_SCREEN + RECORD_SPEECH)
    to_camera(page)
    assert page.evaluate("window.__gum") == []  # no camera before the tap
    assert "点「开始」" in visible_text(page)
    assert page.locator("#start").bounding_box()["height"] >= 48
    shot(page, "05_camera_start")

    # a weak connection: the 4th frame's upload drops twice, then goes through
    dropped = []

    def flaky(route):
        if "/frames/3?" in route.request.url and len(dropped) < 2:
            dropped.append(route.request.url)
            route.abort("connectionreset")
        else:
            route.continue_()
    page.route("**/api/verify/attempts/*/frames/*", flaky)

    page.click("#start")
    wait_prompt(page, "保持不动")
    assert page.evaluate("window.__gum") == [
        {"audio": False, "video": {"facingMode": "user", "width": {"ideal": 640}, "height": {"ideal": 480}}}]
    assert page.evaluate("getComputedStyle(document.getElementById('video')).transform") == \
        "matrix(-1, 0, 0, 1, 0, 0)"
    shot(page, "06_hold_still")
    wait_prompt(page, "张嘴")
    shot(page, "07_action_open_mouth")
    wait_prompt(page, "向左转头")
    shot(page, "08_action_turn_left")
    wait_prompt(page, "正在核验…")
    assert "不要关闭这个页面" in visible_text(page)
    shot(page, "09_checking")

    page.wait_for_selector("#s-result:not([hidden])", timeout=20000)
    shown = page.evaluate("window.__shown")
    assert [p for p in shown["prompt"] if p in ("保持不动", "张嘴", "向左转头", "正在核验…")] == [
        "保持不动", "张嘴", "向左转头", "正在核验…"]
    for n in (1, 2, 3):
        assert any(c.startswith(f"第 {n}/3 步，还剩 ") for c in shown["countdown"]), shown["countdown"]
    text = visible_text(page)
    for words in ("未通过", "与登记照片不符", "提示的动作没有做到", "请本人面对摄像头，不要使用照片或视频",
                  "您还可以再试 2 次", "再试一次"):
        assert words in text, words
    shot(page, "10_failed_retry")

    first = stand_in.uploads
    assert len(dropped) == 2
    attempts = list(dict.fromkeys(u.attempt for u in first))
    assert len(attempts) == 1
    assert [u.seq for u in first] == list(range(len(first)))  # sequential, none lost, none twice
    assert len(first) >= 10
    assert [u.step for u in first] == sorted(u.step for u in first)
    assert {u.step for u in first} == set(range(len(STEPS)))
    for u in first:
        assert u.nonce and u.content_type == "image/jpeg"
        assert u.body[:2] == b"\xff\xd8" and u.body[-2:] == b"\xff\xd9"
        assert len(u.body) <= FRAMES["max_bytes"]
    image = cv2.imdecode(np.frombuffer(first[0].body, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape[1] == FRAMES["max_width"]
    print(f"\nframes per attempt: {len(first)}, bytes: {sum(len(u.body) for u in first)}")

    page.unroute("**/api/verify/attempts/*/frames/*")
    page.click("#again")
    page.click("#start")
    page.wait_for_selector("#s-result:not([hidden])", timeout=30000)
    text = visible_text(page)
    assert "核验通过" in text and "村干部" in text and "再试一次" not in text
    assert len(page.evaluate("window.__gum")) == 1  # the camera stayed open between the attempts
    said = page.evaluate("window.__said")
    assert {lang for _, lang in said} == {"zh-CN"}
    assert [t for t, _ in said if t in ("请看着屏幕，保持不动", "请张开嘴，再合上", "请把头慢慢向左转，再转回来")][:3] == [
        "请看着屏幕，保持不动", "请张开嘴，再合上", "请把头慢慢向左转，再转回来"]
    assert said[-1][0] == "核验通过"
    second = [u for u in stand_in.uploads if u.attempt != attempts[0]]
    assert second and second[0].nonce != first[0].nonce and second[0].seq == 0
    assert page.evaluate("document.getElementById('video').srcObject") is None  # camera off after the pass
    shot(page, "11_passed")


def test_a_last_failed_attempt_hands_over_to_the_cadre(open_page, stand_in, shot):
    """With no attempts left, the result says the village cadre will arrange a home visit; no 再试一次.
    The browser here has no speech synthesis: the walk does not need it."""
    stand_in.outcomes = [{"result": "failed", "reasons": ["liveness.too_few_frames", "liveness.replayed"],
                          "attempts_left": 0, "state": "failed"}]
    page = open_page(init_script=RECORD_GUM + RECORD_SCREEN + NO_SPEECH)
    to_camera(page)
    page.route("**/api/verify/attempts/*/finish", lambda route: route.abort("internetdisconnected"))
    page.click("#start")
    page.wait_for_selector("#retry:not([hidden])", timeout=30000)  # the decision's request was lost
    assert "网络不好" in visible_text(page) and "finish" not in stand_in.calls
    page.unroute("**/api/verify/attempts/*/finish")
    page.click("#retry")
    page.wait_for_selector("#s-result:not([hidden])", timeout=30000)
    text = visible_text(page)
    for words in ("未通过", "上传太慢", "不要使用照片或视频", "核验次数已经用完", "上门核验或人工审核"):
        assert words in text, words
    assert not page.is_visible("#again")
    assert page.evaluate("window.speechSynthesis") is None
    assert [p for p in page.evaluate("window.__shown.prompt") if p in ("保持不动", "张嘴", "向左转头")] == [
        "保持不动", "张嘴", "向左转头"]
    shot(page, "12_failed_final")


def test_a_session_that_ran_out_goes_back_to_the_id_digits(open_page, stand_in):
    """When the registry no longer knows the session (30 min passed), the page asks for the ID digits again."""
    page = open_page()
    unlock(page)
    page.wait_for_selector("#s-consent:not([hidden])")
    stand_in.sessions.clear()
    page.click("#agree")
    page.wait_for_selector("#s-unlock:not([hidden])")
    assert "页面停留时间太长" in visible_text(page)
    assert NAME_MASKED not in page.content()


def test_a_dark_room_is_asked_for_more_light_before_any_attempt(open_page, stand_in, shot):
    """A dark picture keeps the page at 光线太暗 and starts no attempt on the server."""
    page = open_page(camera="dark")
    to_camera(page)
    page.click("#start")
    wait_prompt(page, "光线太暗，请到亮一点的地方")
    page.wait_for_timeout(1500)
    assert "attempts" not in stand_in.calls
    shot(page, "21_too_dark")


def test_a_refused_camera_offers_the_offline_path(open_page, stand_in, shot):
    """Without the camera permission (no fake UI to grant it) the page says so and offers the cadre's video path."""
    page = open_page(fake_ui=False, permissions=[])
    to_camera(page)
    page.click("#start")
    page.wait_for_selector("#msg:not([hidden])")
    text = visible_text(page)
    assert "您没有允许使用摄像头" in text and "视频核验" in text and "上门核验" in text
    assert "attempts" not in stand_in.calls
    shot(page, "18_camera_denied")


def test_a_phone_without_a_camera_offers_the_offline_path(open_page, stand_in, shot):
    """With no camera device the page says none was found and offers the offline path."""
    page = open_page(camera=None, permissions=["camera"])
    to_camera(page)
    page.click("#start")
    page.wait_for_selector("#msg:not([hidden])")
    text = visible_text(page)
    assert "没有找到可用的前置摄像头" in text and "视频核验" in text
    shot(page, "19_no_camera")


def test_a_browser_without_getusermedia_offers_the_offline_path(open_page, stand_in, shot):
    """Where getUserMedia is missing (an insecure http page) the page says why and offers the offline path."""
    page = open_page(init_script="Object.defineProperty(navigator, 'mediaDevices', {value: undefined});")
    to_camera(page)
    page.click("#start")
    page.wait_for_selector("#msg:not([hidden])")
    text = visible_text(page)
    assert "打不开摄像头" in text and "不是安全连接" in text and "视频核验" in text
    shot(page, "20_no_getusermedia")


def test_buttons_are_big_and_text_is_large(open_page, stand_in):
    """Every visible button is at least 48 px high, body text at least 20 px, and nothing overflows the phone's width."""
    page = open_page()
    page.wait_for_selector("#id-tail")
    sizes = page.evaluate("""() => [...document.querySelectorAll('button')].filter(b => b.offsetParent)
        .map(b => b.getBoundingClientRect().height)""")
    assert sizes and min(sizes) >= 48
    assert float(page.evaluate("getComputedStyle(document.body).fontSize").rstrip("px")) >= 20
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    unlock(page)
    page.wait_for_selector("#s-consent:not([hidden])")
    sizes = page.evaluate("""() => [...document.querySelectorAll('button')].filter(b => b.offsetParent)
        .map(b => b.getBoundingClientRect().height)""")
    assert min(sizes) >= 48
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.get_attribute("#prompt", "aria-live") == "assertive"


def test_the_page_transfer_stays_within_the_caps(pw, server, stand_in, artifacts_dir):
    """The page's responses add up to at most 200 KB raw and 60 KB gzipped."""
    browser = pw.chromium.launch(executable_path=CHROMIUM)
    try:
        page = browser.new_context(viewport=PHONE).new_page()
        responses = []
        page.on("response", lambda response: responses.append(response))
        page.goto(f"{server.url}/verify?t={TOKEN_GOOD}", wait_until="networkidle")
        bodies = {r.url: r.body() for r in responses}
    finally:
        browser.close()
    assert {u.split("?")[0].removeprefix(server.url) for u in bodies} == {
        "/verify", "/verify/app.js", "/verify/app.css"}
    raw = sum(len(b) for b in bodies.values())
    gz = sum(len(gzip.compress(b, 6)) for b in bodies.values())
    assert raw <= RAW_CAP and gz <= GZIP_CAP, (raw, gz)
    (artifacts_dir / "verify_page_transfer.json").write_text(json.dumps(
        {"raw_bytes": raw, "gzip_bytes": gz, "files": {u.removeprefix(server.url): len(b)
                                                       for u, b in bodies.items()}}, indent=1))
    print(f"\npage transfer: {raw} bytes raw, {gz} bytes gzipped")
