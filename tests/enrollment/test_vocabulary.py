"""The review's vocabulary: one Chinese name per value, the registry's tables taken from it, and no
second spelling of a state, finding kind or light anywhere in the source."""

from __future__ import annotations

import ast
import io
import tokenize
from collections import Counter
from pathlib import Path

import pytest

from enrollment import vocabulary
from enrollment.vocabulary import (
    LABELS,
    Action,
    BatchState,
    CardStatus,
    ChallengeAction,
    EntitlementState,
    FindingKind,
    Light,
    PaymentFindingKind,
    PaymentLineState,
    ReviewState,
    SendState,
    SmsState,
    VerificationMethod,
    VerificationState,
    label,
)

ROOT = Path(__file__).resolve().parents[2]
ENUMS = (ReviewState, Action, FindingKind, Light, SendState, VerificationState, ChallengeAction,
         VerificationMethod, CardStatus, EntitlementState, BatchState, PaymentLineState, SmsState, PaymentFindingKind)
SCANNED_PACKAGES = ("enrollment", "sync", "registry", "desktop", "cli", "capture")

# Values another spelling of which would matter: every review state, finding kind and light.
GUARDED = {str(m) for enum in (ReviewState, FindingKind, Light) for m in enum}

# (file, value) → (how many times, why) for literals that spell the same word with another meaning.
ALLOWED: dict[tuple[str, str], tuple[int, str]] = {
    ("registry/migrations/versions/0001_initial.py", "received"):
        (2, "a migration is frozen: records.state's default and the blobs.received column"),
    ("registry/migrations/versions/0008_blob_uploads.py", "received"):
        (1, "a migration is frozen: blob_uploads.received, the bytes of an upload received so far"),
    ("registry/schema.py", "received"): (2, "blobs.received and blob_uploads.received: bytes received so far"),
    ("registry/blobs.py", "received"): (5, "the blob status and upload answers' byte count"),
    ("registry/verification/attempts.py", "received"): (2, "the frame upload's answer {received: seq}"),
    ("registry/checks/runner.py", "checked"): (4, "the run summary's number of records checked"),
    ("registry/checks/background.py", "checked"): (2, "the run summary's number of records checked"),
    ("registry/review.py", "approved"): (5, "answer keys: bulk approval's approved ids, dashboard counts"),
    ("registry/review.py", "reference_photo"): (1, "the record detail's reference photo field"),
    ("desktop/central/dashboard_view.py", "approved"): (2, "the dashboard answer's counts"),
    ("desktop/central/record_view.py", "reference_photo"): (1, "the record detail's reference photo field"),
    ("desktop/central/evidence.py", "reference_photo"): (1, "an evidence key's label"),
    ("desktop/sync_panel.py", "returned"): (2, "the sync report's count of newly returned records"),
    ("sync/local/pull.py", "returned"): (2, "the pull's count of newly returned records (the sync report's)"),
    ("sync/local/records.py", "none"): (1, "the count of records no registry has reviewed yet"),
    ("desktop/central/window.py", "approved"): (1, "bulk approval's answer: the approved ids"),
    ("sync/client.py", "received"): (4, "a blob upload's byte count (the registry's answer and error data)"),
    ("sync/client.py", "returned"): (1, "the pull's count of newly returned records"),
    ("cli/selfquery_cmds.py", "none"): (1, "serve-verify's --sms-gateway value that sends no code"),
    ("registry/sms/outbox.py", "none"): (1, "sms status: sent messages without a delivery receipt yet"),
}
@pytest.mark.parametrize("enum", ENUMS, ids=lambda e: e.__name__)
def test_every_member_has_one_chinese_name_unique_in_its_enum(enum):
    names = [m.label for m in enum]
    assert all(n.strip() for n in names)
    assert all(any("\u4e00" <= c <= "\u9fff" for c in n) for n in names), names
    assert len(set(names)) == len(names), names


def test_a_review_word_and_a_send_word_never_share_a_name():
    review = {m.label for m in ReviewState}
    assert not review & {m.label for m in SendState}
    assert set(LABELS) == {m for enum in ENUMS for m in enum}


def test_no_two_enums_share_a_code():
    """Every code is one word of one enum (LABELS is keyed by the code's string: two enums spelling
    "paid" would share one Chinese name)."""
    codes = Counter(str(m) for enum in ENUMS for m in enum)
    assert [c for c, n in codes.items() if n > 1] == []


def test_members_are_the_strings_on_the_wire():
    assert [str(s) for s in ReviewState] == ["received", "checked", "needs_review", "cleared", "approved",
                                             "rejected", "returned"]
    assert [str(s) for s in SendState] == ["draft", "queued", "sending", "accepted", "needs-attention"]
    assert ReviewState("needs_review") == "needs_review" and f"{Light.RED}" == "red"
    assert label("needs_review", ReviewState) == "待人工审核" and label("unknown", Light) == "unknown"
    assert label(None, ReviewState) == ""


def test_the_registry_decides_and_routes_by_the_vocabulary():
    from registry import review, warnings
    from registry.checks import KINDS
    from registry.checks.runner import RECHECK_STATES
    from sync import protocol

    assert review.ALLOWED_FROM is vocabulary.DECISION_FROM and review.TARGET_STATE is vocabulary.DECISION_TARGET
    assert set(review.ACTIONS) == set(Action) and set(KINDS) == set(FindingKind)
    assert warnings.UNHANDLED_STATES == vocabulary.UNDECIDED and set(warnings.LIGHTS) == set(Light)
    assert set(RECHECK_STATES) <= set(vocabulary.CHECK_ROUTES)
    assert protocol.REVIEW_STATES == tuple(ReviewState)


def _string_literals(path: Path):
    source = path.read_bytes()
    for tok in tokenize.tokenize(io.BytesIO(source).readline):
        if tok.type != tokenize.STRING:
            continue
        try:
            value = ast.literal_eval(tok.string)
        except (ValueError, SyntaxError):
            continue
        if isinstance(value, str):
            yield tok.start[0], value


def test_no_second_spelling_of_a_state_kind_or_light():
    found: Counter[tuple[str, str]] = Counter()
    where: dict[tuple[str, str], list[int]] = {}
    for package in SCANNED_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel == "enrollment/vocabulary.py":
                continue
            for line, value in _string_literals(path):
                if value in GUARDED:
                    found[rel, value] += 1
                    where.setdefault((rel, value), []).append(line)
    unexpected = {f"{rel}:{where[rel, v]} {v!r}" for (rel, v), n in found.items()
                  if n != ALLOWED.get((rel, v), (0, ""))[0]}
    stale = {f"{rel} {v!r}" for (rel, v) in ALLOWED if (rel, v) not in found}
    assert not unexpected, "import these from enrollment.vocabulary (or update ALLOWED): " + ", ".join(
        sorted(unexpected))
    assert not stale, "ALLOWED names literals that are gone: " + ", ".join(sorted(stale))
