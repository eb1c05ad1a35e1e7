"""The review's vocabulary, spelled once: review states, decisions, finding kinds, warning lights,
and the laptop's send states, each with its one Simplified-Chinese name.

Members are ``StrEnum``s, so they compare equal to (and serialise as) the strings on the wire and
in both databases. ``label`` is the untranslated Chinese name; the desktop passes it through Qt's
``tr()`` (context ``"vocabulary"``), the registry's reports and the CLI print it as it is. A review
word and a send word never share a name: "the registry has it" (已送达) is not "the registry has
checked it" (已收到待检查).
"""

from __future__ import annotations

from enum import StrEnum


class _Labelled(StrEnum):
    @property
    def label(self) -> str:
        return LABELS[self]


class ReviewState(_Labelled):
    """A record's state in the registry (``records.state``; a pulled record's ``review.state``)."""

    RECEIVED = "received"
    CHECKED = "checked"          # passed through inside the checks' transaction, then routed on
    NEEDS_REVIEW = "needs_review"
    CLEARED = "cleared"
    APPROVED = "approved"
    REJECTED = "rejected"
    RETURNED = "returned"


class Action(_Labelled):
    """A reviewer's decision. Handing out the card is not one: it changes no state."""

    APPROVE = "approve"
    REJECT = "reject"
    RETURN = "return"


class FindingKind(_Labelled):
    SAME_ID = "same_id"                  # the ID number is enrolled in another record (merge candidate)
    DEMOGRAPHIC = "demographic"          # another ID number with a near-identical name/birth/sex/village
    FACE_MATCH = "face_match"            # the same face under another ID number (虚报冒领)
    REFERENCE_PHOTO = "reference_photo"  # the face does not match the population registry's photo
    DATASET_RULE = "dataset_rule"        # a cross-comparison rule hit a department dataset row
    NOT_ON_ROSTER = "not_on_roster"      # the ID number is on no village's roster (花名册)
    ROSTER_OTHER_VILLAGE = "roster_other_village"  # on another village's roster than the enrolling one
    VERIFICATION_FAILED = "verification_failed"    # the remote face verification failed (evidence attached)
    VERIFICATION_MANUAL = "verification_manual"    # remote verification expired or used up: a home visit


class Light(_Labelled):
    """A record's process warning, computed from stored times (``registry.warnings``)."""

    NONE = "none"
    YELLOW = "yellow"
    RED = "red"


class SendState(_Labelled):
    """Where the laptop's copy of a record is on its way to the registry (``sync.store``)."""

    DRAFT = "draft"
    QUEUED = "queued"
    SENDING = "sending"
    ACCEPTED = "accepted"
    NEEDS_ATTENTION = "needs-attention"


class VerificationState(_Labelled):
    """A remote verification request's state (docs/verification-api.md)."""

    SENT = "sent"
    OPENED = "opened"
    PASSED = "passed"
    FAILED = "failed"
    EXPIRED = "expired"
    MANUAL = "manual"            # needs a home visit or manual review


class ChallengeAction(_Labelled):
    """One step of the live challenge on the worker's phone."""

    HOLD_STILL = "hold_still"
    OPEN_MOUTH = "open_mouth"
    TURN_LEFT = "turn_left"
    TURN_RIGHT = "turn_right"
    BLINK = "blink"


class VerificationMethod(_Labelled):
    """How a verification was done: a live check on the worker's phone is stronger than a clip the
    worker recorded and sent through a messaging app (the cadre's offline path)."""

    LIVE = "live"
    VIDEO = "video"


class CardStatus(_Labelled):
    """A social-security card as the card bank reports it (``registry import-cards``, issue 13)."""

    MADE = "made"               # 已制卡: printed, not yet activated: money cannot land on it
    ACTIVE = "active"           # 已激活: the only status a payment goes to
    LOST = "lost"               # 已挂失
    CANCELLED = "cancelled"     # 已注销


class EntitlementState(_Labelled):
    """One line of a department's payment roster, from import to the money (issue 13)."""

    READY = "ready"             # every check passed: may go into a batch
    INTERCEPTED = "intercepted"  # a rule or check stopped it: a person decides (release or reject)
    REFUSED = "refused"         # bad data (reported by line); never paid
    NOT_PAID = "not_paid"       # a person decided an intercepted line is not to be paid
    IN_BATCH = "in_batch"       # a payment line for it is open in a batch
    PAID_OUT = "paid_out"
    PAY_FAILED = "pay_failed"   # the bank failed it: paid again only after the card data is corrected


class BatchState(_Labelled):
    BUILT = "built"             # built, waiting for a second person's approval
    AUTHORISED = "authorised"   # approved by someone other than its creator: may be exported
    EXPORTED = "exported"       # the bank file was written (its SHA-256 is in the audit chain)
    SETTLED = "settled"         # every line has the bank's result


class PaymentLineState(_Labelled):
    """One payment of one entitlement in one batch; a retry is a new line in a later batch."""

    AT_BANK = "at_bank"         # in a batch, no result yet
    CREDITED = "credited"       # 成功: the money is on the card
    BOUNCED = "bounced"         # 失败, with the bank's reason
    REVERSED = "reversed"       # the bank took a credited line back: the entitlement is open again


class SmsState(_Labelled):
    TO_SEND = "sms_to_send"
    SENT = "sms_sent"
    GAVE_UP = "sms_gave_up"     # gave up after the retries (the outbox keeps the reason)


class PaymentFindingKind(_Labelled):
    """What stopped a line of a department's payment roster (``registry.payments.checks``); the dataset
    rules' finding is ``payment_rule`` (not FindingKind's dataset_rule: codes are unique across enums)."""

    NO_ACTIVE_CARD = "no_active_card"              # the ID number has no 已激活 card
    NAME_MISMATCH = "name_mismatch"                # the line's name is not the active card holder's
    PAYMENT_RULE = "payment_rule"                  # a cross-comparison rule hit a department dataset row
    DUPLICATE_PAYMENT = "duplicate_payment"        # the same person, item and period paid or to be paid already
    AMOUNT_OVER_STANDARD = "amount_over_standard"  # more than the catalogue's standard for the item


LABELS: dict[StrEnum, str] = {
    ReviewState.RECEIVED: "已收到待检查",
    ReviewState.CHECKED: "已检查",
    ReviewState.NEEDS_REVIEW: "待人工审核",
    ReviewState.CLEARED: "检查通过",
    ReviewState.APPROVED: "已批准",
    ReviewState.REJECTED: "已驳回",
    ReviewState.RETURNED: "已退回",
    Action.APPROVE: "批准",
    Action.REJECT: "驳回",
    Action.RETURN: "退回",
    FindingKind.SAME_ID: "身份证号重复",
    FindingKind.DEMOGRAPHIC: "疑似同一人",
    FindingKind.FACE_MATCH: "人脸相同、证号不同",
    FindingKind.REFERENCE_PHOTO: "与户籍照片不符",
    FindingKind.DATASET_RULE: "部门比对",
    FindingKind.NOT_ON_ROSTER: "不在本村花名册",
    FindingKind.ROSTER_OTHER_VILLAGE: "在他村花名册",
    FindingKind.VERIFICATION_FAILED: "远程核验未通过",
    FindingKind.VERIFICATION_MANUAL: "需上门或人工核验",
    Light.NONE: "正常",
    Light.YELLOW: "黄灯",
    Light.RED: "红灯",
    SendState.DRAFT: "草稿",
    SendState.QUEUED: "待发送",
    SendState.SENDING: "发送中",
    SendState.ACCEPTED: "已送达",
    SendState.NEEDS_ATTENTION: "需处理",
    VerificationState.SENT: "已发送链接",
    VerificationState.OPENED: "已打开",
    VerificationState.PASSED: "核验通过",
    VerificationState.FAILED: "核验未通过",
    VerificationState.EXPIRED: "链接已过期",
    VerificationState.MANUAL: "需上门或人工核验",
    ChallengeAction.HOLD_STILL: "保持不动",
    ChallengeAction.OPEN_MOUTH: "张嘴",
    ChallengeAction.TURN_LEFT: "向左转头",
    ChallengeAction.TURN_RIGHT: "向右转头",
    ChallengeAction.BLINK: "眨眼",
    CardStatus.MADE: "已制卡",
    CardStatus.ACTIVE: "已激活",
    CardStatus.LOST: "已挂失",
    CardStatus.CANCELLED: "已注销",
    EntitlementState.READY: "待发放",
    EntitlementState.INTERCEPTED: "已拦截",
    EntitlementState.REFUSED: "数据有误",
    EntitlementState.NOT_PAID: "不予发放",
    EntitlementState.IN_BATCH: "发放中",
    EntitlementState.PAID_OUT: "已发放",
    EntitlementState.PAY_FAILED: "发放失败",
    BatchState.BUILT: "待审批",
    BatchState.AUTHORISED: "已审批",
    BatchState.EXPORTED: "已导出银行文件",
    BatchState.SETTLED: "已回盘",
    PaymentLineState.AT_BANK: "待银行处理",
    PaymentLineState.CREDITED: "已到账",
    PaymentLineState.BOUNCED: "银行退回",
    PaymentLineState.REVERSED: "已冲正",
    SmsState.TO_SEND: "短信待发",
    SmsState.SENT: "短信已发",
    SmsState.GAVE_UP: "短信发送失败",
    PaymentFindingKind.NO_ACTIVE_CARD: "无已激活社保卡",
    PaymentFindingKind.NAME_MISMATCH: "姓名与持卡人不符",
    PaymentFindingKind.PAYMENT_RULE: "部门数据比对",
    PaymentFindingKind.DUPLICATE_PAYMENT: "重复发放",
    PaymentFindingKind.AMOUNT_OVER_STANDARD: "金额超过标准",
    VerificationMethod.LIVE: "远程刷脸核验",
    VerificationMethod.VIDEO: "视频核验",
}

# The actions the server draws two of, in random order, after HOLD_STILL.
RANDOM_ACTIONS = (ChallengeAction.OPEN_MOUTH, ChallengeAction.TURN_LEFT, ChallengeAction.TURN_RIGHT,
                  ChallengeAction.BLINK)


def label(value: str | None, enum: type[StrEnum]) -> str:
    """The Chinese name of ``value`` as a member of ``enum``; an unknown value comes back as it is."""
    try:
        return LABELS[enum(value)]
    except ValueError:
        return value or ""


# --- The pipeline: received → checked → needs_review | cleared → approved | rejected | returned.

# A new version of any record, a returned one's correction included, starts again here.
NEW_VERSION_STATE = ReviewState.RECEIVED

# Not decided yet: a warning counts from the version's arrival.
UNDECIDED = (ReviewState.RECEIVED, ReviewState.CHECKED, ReviewState.NEEDS_REVIEW, ReviewState.CLEARED)

# What the checks do to a record in each state they look at. Open findings send it to
# needs_review, none to cleared; an approved record moves only if a check found something new
# on it (reopened). Rejected and returned records wait for the cadre's new version.
CHECK_ROUTES: dict[ReviewState, tuple[ReviewState, ...]] = {
    ReviewState.RECEIVED: (ReviewState.NEEDS_REVIEW, ReviewState.CLEARED),   # via checked
    ReviewState.CHECKED: (ReviewState.NEEDS_REVIEW, ReviewState.CLEARED),
    ReviewState.NEEDS_REVIEW: (ReviewState.NEEDS_REVIEW, ReviewState.CLEARED),
    ReviewState.CLEARED: (ReviewState.NEEDS_REVIEW, ReviewState.CLEARED),
    ReviewState.APPROVED: (ReviewState.NEEDS_REVIEW, ReviewState.APPROVED),
}

DECISION_TARGET: dict[Action, ReviewState] = {
    Action.APPROVE: ReviewState.APPROVED,
    Action.REJECT: ReviewState.REJECTED,
    Action.RETURN: ReviewState.RETURNED,
}
# Approval needs the checks to have run; an unchecked record may already be refused or sent back.
DECISION_FROM: dict[Action, tuple[ReviewState, ...]] = {
    Action.APPROVE: (ReviewState.NEEDS_REVIEW, ReviewState.CLEARED),
    Action.REJECT: (ReviewState.NEEDS_REVIEW, ReviewState.CLEARED, ReviewState.RECEIVED),
    Action.RETURN: (ReviewState.NEEDS_REVIEW, ReviewState.CLEARED, ReviewState.RECEIVED),
}


def transitions() -> dict[ReviewState, frozenset[ReviewState]]:
    """Every state a record in each state can move to (staying put is not a move)."""
    out: dict[ReviewState, set[ReviewState]] = {s: {NEW_VERSION_STATE} for s in ReviewState}
    out[ReviewState.RECEIVED].add(ReviewState.CHECKED)
    for state, targets in CHECK_ROUTES.items():
        out[state].update(targets)
    for action, sources in DECISION_FROM.items():
        for state in sources:
            out[state].add(DECISION_TARGET[action])
    return {s: frozenset(t - {s}) for s, t in out.items()}
