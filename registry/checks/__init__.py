"""Automatic checks on synced enrollments (issue 4): each check looks at a batch of record
versions and returns findings with their evidence.

Every check has the same shape, so the runner (``registry.checks.runner``) can call them in
turn inside one transaction::

    def check(ctx: CheckContext, batch: list[CheckRecord]) -> CheckResult

Checks read the database through ``ctx.conn`` and never write: the runner stores findings,
counts and state changes. A check is deterministic for the same database contents, so
checking a version twice finds the same finding keys (the unique key of ``findings``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

import resources
from enrollment.vocabulary import FindingKind

# Finding kinds (enrollment.vocabulary.FindingKind says what each means); short names for the checks.
SAME_ID = FindingKind.SAME_ID
DEMOGRAPHIC = FindingKind.DEMOGRAPHIC
FACE_MATCH = FindingKind.FACE_MATCH
REFERENCE_PHOTO = FindingKind.REFERENCE_PHOTO
DATASET_RULE = FindingKind.DATASET_RULE
NOT_ON_ROSTER = FindingKind.NOT_ON_ROSTER
ROSTER_OTHER_VILLAGE = FindingKind.ROSTER_OTHER_VILLAGE
KINDS = tuple(FindingKind)

# Severities: both send the record to needs_review; "intercept" also stops payment.
INTERCEPT = "intercept"
FLAG = "flag"

CONFIG_PATH = ("review", "checks.json")
CONFIG_INVALID = "checks.config_invalid"  # unreadable, or a key that is no threshold (a misspelling)


@dataclass(frozen=True)
class CheckRecord:
    """One version of one record, as the checks see it (payload is the canonical dict)."""

    record_id: str
    version: int
    village_code: str
    id_number: str
    operator: str
    device_id: str
    payload: dict[str, Any]
    deleted: bool = False

    @property
    def subsidies(self) -> tuple[str, ...]:
        return tuple(self.payload.get("subsidies") or ())

    def attachment(self, kind: str) -> str | None:
        """The SHA-256 of the attachment of that kind, if any."""
        for a in self.payload.get("attachments") or ():
            if a.get("kind") == kind:
                return a.get("sha256")
        return None


@dataclass(frozen=True)
class Finding:
    kind: str
    severity: str
    evidence: dict[str, Any]   # JSON-able (strings, ints, lists, dicts; no floats: scores as strings)
    rule: str = ""             # the rule id (dataset rules; "" for the others)
    subject: str = ""          # what it is about within the kind: another record id, a dataset row id…
    score: str | None = None   # a 4-decimal string, e.g. face distance "0.3127" or demographic "0.9200"


@dataclass
class RuleCount:
    """Comparisons made by one rule or check in one call (added to ``rule_stats`` by the runner)."""

    rule_id: str
    kind: str
    department: str = ""
    dataset: str = ""
    compared: int = 0
    intercepted: int = 0
    flagged: int = 0


@dataclass
class CheckResult:
    findings: dict[str, list[Finding]] = field(default_factory=dict)  # record_id -> findings
    counts: list[RuleCount] = field(default_factory=list)

    def add(self, record_id: str, finding: Finding) -> None:
        self.findings.setdefault(record_id, []).append(finding)


@dataclass(frozen=True)
class CheckConfig:
    """Thresholds, from ``resources/review/checks.json`` (or a file given to the registry)."""

    demographic_threshold: float = 0.85
    face_radius: float = 0.6
    face_top_k: int = 5
    reference_threshold: float = 0.6

    @classmethod
    def load(cls, path: str | Path | None = None) -> CheckConfig:
        from capture.settings_file import read_known_keys

        return cls(**read_known_keys(cls, path or resources.path(*CONFIG_PATH), code=CONFIG_INVALID))


@dataclass
class CheckContext:
    conn: Connection
    config: CheckConfig
    today: dt.date
    face_index: Any = None   # registry.checks.faces.RegistryFaceIndex, kept up to date by the runner
    rules: Any = None        # registry.checks.rules.RuleSet
