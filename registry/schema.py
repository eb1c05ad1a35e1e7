"""The registry's tables (SQLAlchemy Core). Migrations in ``registry/migrations`` create them.

Times are ISO-8601 UTC text (``2026-11-27T13:05:00.123456Z``): the same on SQLite and
PostgreSQL, and sortable as text. Payloads are the canonical JSON text of a record.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Computed,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy import text as sql_text

from enrollment.vocabulary import (
    NEW_VERSION_STATE,
    BatchState,
    CardStatus,
    EntitlementState,
    FindingKind,
    PaymentLineState,
    ReviewState,
    SmsState,
    VerificationMethod,
    VerificationState,
)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)

# PostgreSQL fillfactor of the tables whose rows a payment rewrites: half of each new page stays free for the
# rows' next versions (see migration 0019).
ROOM_TO_REWRITE_IN_PLACE = 50

ROLES = ("cadre", "central", "admin")

# records.state takes the values of enrollment.vocabulary.ReviewState, findings.kind those of
# FindingKind and verification_requests.state those of VerificationState (migration 0010). The database refuses anything else (migration 0006): a CHECK constraint on
# PostgreSQL, triggers on SQLite (which cannot add a CHECK to an existing table without copying it,
# and records is referenced by record_versions). The guards are generated here from the vocabulary;
# a migration freezes the SQL of its day, and tests/registry/test_vocabulary_guards.py fails when the
# vocabulary and the newest migration's guard disagree: a new member needs a migration.
VOCABULARY_GUARDS = (("records", "state", ReviewState), ("findings", "kind", FindingKind),
                     ("verification_requests", "state", VerificationState))


def allowed_values_sql(column: str, enum: type) -> str:
    """``column IN ('a', 'b', ...)`` in the enum's order (values are plain ASCII codes)."""
    return f"{column} IN ({', '.join(repr(str(m)) for m in enum)})"


def vocabulary_guard_sql(dialect: str) -> list[str]:
    """The statements that make the database refuse a state or finding kind outside the vocabulary."""
    out: list[str] = []
    for table, column, enum in VOCABULARY_GUARDS:
        condition = allowed_values_sql(f"NEW.{column}", enum)
        if dialect == "postgresql":
            out.append(f"ALTER TABLE {table} ADD CONSTRAINT ck_{table}_{column} "
                       f"CHECK ({allowed_values_sql(column, enum)})")
        else:
            for event in ("INSERT", "UPDATE"):
                of = f" OF {column}" if event == "UPDATE" else ""
                out.append(f"CREATE TRIGGER ck_{table}_{column}_{event.lower()} BEFORE {event}{of} ON {table} "
                           f"WHEN NOT ({condition}) "
                           f"BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: ck_{table}_{column}'); END")
    return out

operators = Table(
    "operators", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(16), nullable=False),
    Column("display_name", String(100), nullable=False, server_default=""),
    Column("disabled", Boolean, nullable=False, server_default="0"),
    Column("created_at", String(32), nullable=False),
    # A cadre's mobile number (migration 0016, ``registry set-operator-phone``): where the notice of a
    # bounced payment in their village goes. NULL: none known.
    Column("phone", String(20), nullable=True),
    CheckConstraint("role IN ('cadre', 'central', 'admin')", name="role"),
)

villages = Table(
    "villages", metadata,
    Column("code", String(12), primary_key=True),
    Column("name", String(100), nullable=False, server_default=""),
    Column("created_at", String(32), nullable=False),
)

operator_villages = Table(
    "operator_villages", metadata,
    Column("operator_id", Integer, ForeignKey("operators.id", ondelete="CASCADE"), primary_key=True),
    Column("village_code", String(12), ForeignKey("villages.code"), primary_key=True),
)

tokens = Table(
    "tokens", metadata,
    Column("token_hash", String(64), primary_key=True),  # sha256 hex of the opaque token
    Column("operator_id", Integer, ForeignKey("operators.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("device_id", String(100), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("expires_at", String(32), nullable=False),
)

residents = Table(
    "residents", metadata,
    Column("id_number", String(18), primary_key=True),
    Column("village_code", String(12), ForeignKey("villages.code"), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("sex", String(2), nullable=False),
    Column("birth_date", String(10), nullable=False),
    Column("household_id", String(40), nullable=False),
    Column("relation", String(10), nullable=False),
    Column("address", String(200), nullable=False, server_default=""),
    Column("phone", String(20), nullable=False, server_default=""),
    Column("counter", BigInteger, nullable=False, index=True),
    Column("updated_at", String(32), nullable=False),
)

records = Table(
    "records", metadata,
    Column("record_id", String(36), primary_key=True),
    Column("village_code", String(12), nullable=False, index=True),
    Column("id_number", String(18), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("payload", Text, nullable=True),  # canonical JSON; NULL for a tombstone
    Column("deleted", Boolean, nullable=False, server_default="0"),
    Column("operator", String(64), nullable=False),
    Column("device_id", String(100), nullable=False),
    Column("state", String(20), nullable=False, server_default=NEW_VERSION_STATE.value, index=True),
    Column("counter", BigInteger, nullable=False, index=True),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    # Review (migration 0005). state_at: when the current state began (warnings count from it).
    Column("state_at", String(32), nullable=False, server_default=""),
    Column("review_reason", Text, nullable=True),
    Column("decided_by", String(64), nullable=True),
    Column("decided_at", String(32), nullable=True),
    Column("checked_version", Integer, nullable=True),  # the version the checks last ran on
    Column("card_issued_at", String(32), nullable=True),
)

record_versions = Table(
    "record_versions", metadata,
    Column("record_id", String(36), ForeignKey("records.record_id"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("content_hash", String(64), nullable=False),
    Column("payload", Text, nullable=True),
    Column("deleted", Boolean, nullable=False),
    Column("operator", String(64), nullable=False),
    Column("device_id", String(100), nullable=False),
    Column("counter", BigInteger, nullable=False),
    Column("received_at", String(32), nullable=False),
    Index("ix_record_versions_record_hash", "record_id", "content_hash"),
)

record_attachments = Table(
    "record_attachments", metadata,
    Column("record_id", String(36), ForeignKey("records.record_id"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("kind", String(32), primary_key=True),
    Column("sha256", String(64), primary_key=True),
    Index("ix_record_attachments_sha256", "sha256"),
)

conflicts = Table(
    "conflicts", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("record_id", String(36), nullable=False, index=True),
    Column("base_version", Integer, nullable=False),
    Column("server_version", Integer, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("payload", Text, nullable=True),
    Column("deleted", Boolean, nullable=False),
    Column("operator", String(64), nullable=False),
    Column("device_id", String(100), nullable=False),
    Column("received_at", String(32), nullable=False),
    UniqueConstraint("record_id", "base_version", "content_hash", name="uq_conflicts_attempt"),
)

blobs = Table(
    "blobs", metadata,
    Column("sha256", String(64), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("received", BigInteger, nullable=False, server_default="0"),
    Column("complete", Boolean, nullable=False, server_default="0"),
    Column("created_at", String(32), nullable=False),
    Column("completed_at", String(32), nullable=True),
)

blob_chunks = Table(
    "blob_chunks", metadata,
    Column("sha256", String(64), ForeignKey("blobs.sha256", ondelete="CASCADE"), primary_key=True),
    Column("offset", BigInteger, primary_key=True),
    Column("data", LargeBinary, nullable=False),
)

# Uploads in progress (migration 0008, issue 10): each belongs to the operator and device that
# started it, so nobody can squat on another uploader's SHA-256 (with a wrong size, say) or learn
# from it what others upload. ``updated_at`` is the last chunk's moment: a partial left longer
# than the registry's partial TTL is removed (``registry.blobs.collect_garbage``). Once every byte
# is there and hashes right, the bytes move to ``blobs``/``blob_chunks`` and these rows go; since
# 0008 every ``blobs`` row is complete (``received`` = ``size``, ``complete`` true).
blob_uploads = Table(
    "blob_uploads", metadata,
    Column("sha256", String(64), primary_key=True),
    Column("operator", String(64), primary_key=True),
    Column("device_id", String(100), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("received", BigInteger, nullable=False, server_default="0"),
    Column("started_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False, index=True),
)

blob_upload_chunks = Table(
    "blob_upload_chunks", metadata,
    Column("sha256", String(64), primary_key=True),
    Column("operator", String(64), primary_key=True),
    Column("device_id", String(100), primary_key=True),
    Column("offset", BigInteger, primary_key=True),
    Column("data", LargeBinary, nullable=False),
    ForeignKeyConstraint(["sha256", "operator", "device_id"],
                         ["blob_uploads.sha256", "blob_uploads.operator", "blob_uploads.device_id"],
                         ondelete="CASCADE", name="fk_blob_upload_chunks_upload"),
)

# Who proved they hold a complete blob by uploading all of its bytes: the blob status answers
# such an operator "complete"; ``confirmed_at`` (their last upload, or the last status that told
# them so) starts the grace period before an unreferenced blob is removed.
blob_uploaders = Table(
    "blob_uploaders", metadata,
    Column("sha256", String(64), ForeignKey("blobs.sha256", ondelete="CASCADE"), primary_key=True),
    Column("operator", String(64), primary_key=True),
    Column("confirmed_at", String(32), nullable=False),
)

# One row (id 1): the last pull counter handed out. Incremented inside each writing
# transaction; on PostgreSQL ``UPDATE … RETURNING`` holds the row lock until commit, so
# counters become visible in the order they were assigned.
server_counter = Table(
    "server_counter", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("value", BigInteger, nullable=False),
)

# Append-only, hash-chained (``registry.audit``); triggers from migration 0003 refuse UPDATE
# and DELETE (and TRUNCATE on PostgreSQL). ``seq`` is assigned by ``audit.append`` as the
# previous entry's + 1 under a lock, so a gap always means a deleted entry.
audit_log = Table(
    "audit_log", metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at", String(32), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("subject", String(100), nullable=False),
    Column("data", Text, nullable=False),  # canonical JSON; personal values masked
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

# Free text an audit entry refers to (a decision's reason, an imported file's name), kept out of
# the chain so that it can be removed under PIPL (``registry.audit``). An entry stores only
# ``sha256`` = SHA-256(salt + text): the text is checked against it while it exists; redaction
# clears ``text`` and ``salt`` (so a guessed text can no longer be confirmed against the chain)
# and sets ``redacted_at``/``redacted_by``. ID numbers and telephone numbers are masked before storing.
audit_texts = Table(
    "audit_texts", metadata,
    Column("sha256", String(64), primary_key=True),
    Column("salt", String(32), nullable=True),
    Column("text", Text, nullable=True),
    Column("created_at", String(32), nullable=False),
    Column("redacted_at", String(32), nullable=True),
    Column("redacted_by", String(64), nullable=True),
)

# Department dataset files (``registry.datasets``): each import of a kind replaces that
# kind's rows; ``dataset_imports`` keeps the history of files (no personal data).
dataset_imports = Table(
    "dataset_imports", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("file_name", String(255), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("rows", Integer, nullable=False),
    Column("imported_at", String(32), nullable=False),
    Column("actor", String(64), nullable=False),
)

dataset_rows = Table(
    "dataset_rows", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("id_number", String(18), nullable=False),
    Column("row", Text, nullable=False),  # canonical JSON of the row's columns, all strings
    Column("import_id", Integer, ForeignKey("dataset_imports.id"), nullable=False),
    # The line of the imported file (the sheet's row for XLSX), as a reviewer looks it up (migration 0013).
    Column("line", Integer, nullable=True),
    Index("ix_dataset_rows_kind_id_number", "kind", "id_number"),
)


# Review (migration 0005). A finding is one check's result on one version of a record, with
# its evidence (canonical JSON, full values: only central staff read it). Checking the same
# version again finds the same key and adds nothing. status: open | resolved (a decision was
# made on that version) | superseded (a newer version arrived).
findings = Table(
    "findings", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("record_id", String(36), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("rule", String(64), nullable=False, server_default=""),
    Column("subject", String(100), nullable=False, server_default=""),
    Column("severity", String(16), nullable=False),
    Column("score", String(16), nullable=True),
    Column("evidence", Text, nullable=False),
    Column("status", String(16), nullable=False, server_default="open"),
    Column("created_at", String(32), nullable=False),
    Column("resolved_at", String(32), nullable=True),
    Column("resolved_by", String(64), nullable=True),
    UniqueConstraint("record_id", "version", "kind", "rule", "subject", name="uq_findings_key"),
    Index("ix_findings_status_kind", "status", "kind"),
)

# Counts per check or dataset rule: comparisons run, intercepted, flagged (the seed's
# "comparisons run / intercepted / ineligible"), cumulative over every checked version.
rule_stats = Table(
    "rule_stats", metadata,
    Column("rule_id", String(64), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("department", String(32), nullable=False, server_default=""),
    Column("dataset", String(32), nullable=False, server_default=""),
    Column("compared", BigInteger, nullable=False, server_default="0"),
    Column("intercepted", BigInteger, nullable=False, server_default="0"),
    Column("flagged", BigInteger, nullable=False, server_default="0"),
    Column("updated_at", String(32), nullable=False),
)

check_runs = Table(
    "check_runs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("started_at", String(32), nullable=False),
    Column("finished_at", String(32), nullable=True),
    Column("actor", String(64), nullable=False),
    Column("records_checked", Integer, nullable=False, server_default="0"),
    Column("findings_opened", Integer, nullable=False, server_default="0"),
    Column("cancelled", Boolean, nullable=False, server_default="0"),
)

# The population registry's reference photos (dataset kind reference_photos): the photo is a
# blob (central staff see it beside the enrollment photo), its face template kept here.
reference_templates = Table(
    "reference_templates", metadata,
    Column("id_number", String(18), primary_key=True),
    Column("photo_sha256", String(64), nullable=False),
    Column("template", LargeBinary, nullable=False),
    Column("import_id", Integer, ForeignKey("dataset_imports.id"), nullable=False),
)


# Remote verification (migration 0010, issue 11; registry/verification/, docs/verification-api.md).
# A request: one resident, one single-use link whose token is known only by its SHA-256. ``counter``
# is a pull counter (taken again on every change, so the laptops of the village receive the new
# state); ``result`` is the last decision's summary (JSON: reasons, scores, thresholds; no images).
# ``session_hash``: the SHA-256 of the key the last unlock handed out (the page keeps it in memory),
# valid until ``session_expires_at``; the token alone starts nothing.
verification_requests = Table(
    "verification_requests", metadata,
    Column("id", String(36), primary_key=True),
    Column("id_number", String(18), nullable=False, index=True),
    Column("village_code", String(12), nullable=False, index=True),
    Column("record_id", String(36), nullable=True),
    Column("city", String(100), nullable=False, server_default=""),
    Column("method", String(16), nullable=False, server_default=VerificationMethod.LIVE.value),
    Column("created_by", String(64), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("expires_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("state", String(16), nullable=False, index=True),
    Column("attempts_max", Integer, nullable=False),
    Column("attempts_used", Integer, nullable=False, server_default="0"),
    Column("counter", BigInteger, nullable=False, index=True),
    Column("result", Text, nullable=True),
    Column("opened_at", String(32), nullable=True),
    Column("session_hash", String(64), nullable=True),
    Column("session_expires_at", String(32), nullable=True),
    Column("consent_version", String(32), nullable=True),
    Column("consent_at", String(32), nullable=True),
    # The offline video path (migration 0011): {"digits", "actions"} drawn at creation (JSON).
    Column("video_challenge", Text, nullable=True),
)

# One attempt of a request: the server-drawn challenge (``steps``: [{action, deadline_ms}]), the nonce
# every frame must carry, and the decision (JSON: checks, reasons, scores, evidence frame seqs).
# ``client_hash``: SHA-256 of the client's address with a per-attempt salt folded in (``registry.verification``),
# enough to tell attempts apart, not to recover the address. state: open | decided.
verification_attempts = Table(
    "verification_attempts", metadata,
    Column("id", String(36), primary_key=True),
    Column("request_id", String(36), ForeignKey("verification_requests.id"), nullable=False, index=True),
    Column("started_at", String(32), nullable=False),
    Column("nonce", String(64), nullable=False),
    Column("steps", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("decision", Text, nullable=True),
    Column("finished_at", String(32), nullable=True),
    Column("client_hash", String(64), nullable=False, server_default=""),
    Column("frames_received", Integer, nullable=False, server_default="0"),
    Column("bytes_received", Integer, nullable=False, server_default="0"),
    # Migration 0011: ``method`` live | video; a video attempt's clip blob (``clip_sha256``: one attempt
    # per clip and request, so a resent clip finds its answer; found by hash across requests for the
    # replay check), kept from garbage collection until ``clip_purged_at``; ``result`` the answer's
    # passed | retry | failed.
    Column("method", String(16), nullable=False, server_default="live"),
    Column("clip_sha256", String(64), nullable=True),
    Column("clip_purged_at", String(32), nullable=True),
    Column("result", String(16), nullable=True),
    Index("ix_verification_attempts_clip", "clip_sha256", "request_id", unique=True),
)

# The frames of an attempt: the hash of every frame ever received stays (a frame replayed into a later
# attempt is found by ``sha256``); the bytes stay only for the evidence frames a decision keeps (at most
# 4), until ``registry verification purge-evidence`` removes them after the retention (``purged_at``).
verification_frames = Table(
    "verification_frames", metadata,
    Column("attempt_id", String(36), ForeignKey("verification_attempts.id"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("step", Integer, nullable=False),
    Column("t_ms", Integer, nullable=False),
    Column("sha256", String(64), nullable=False, index=True),
    Column("size", Integer, nullable=False),
    Column("data", LargeBinary, nullable=True),
    Column("evidence", Boolean, nullable=False, server_default="0"),
    Column("purged_at", String(32), nullable=True),
)


# ---- Payments to the card (issue 13, migration 0014) -------------------------------------------------
# Money is integer fen (BigInteger) in every table, never a float. New tables carry their vocabulary as
# CHECK constraints from the start (the guards above exist for tables that predate them).

def _one_of(column: str, enum: type) -> CheckConstraint:
    return CheckConstraint(allowed_values_sql(column, enum), name=f"{column}_vocabulary")


# The card bank's issuing/activation files (``registry import-cards``): one row per file, no personal data.
card_imports = Table(
    "card_imports", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("file_name", String(255), nullable=False),
    Column("sha256", String(64), nullable=False, index=True),
    Column("rows", Integer, nullable=False),
    Column("imported_at", String(32), nullable=False),
    Column("actor", String(64), nullable=False),
)

# One social-security card; a new card (after 挂失) is a new row. A payment goes only to an ``active``
# card of the same ID number whose holder's name matches the roster line. Card and account numbers are
# whole here (the bank file needs them) and masked in every answer and screen.
cards = Table(
    "cards", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("id_number", String(18), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("card_number", String(32), nullable=False, unique=True),
    Column("bank_account", String(40), nullable=False),
    Column("bank", String(100), nullable=False),
    Column("status", String(16), nullable=False),
    Column("status_date", String(10), nullable=False),
    Column("import_id", Integer, ForeignKey("card_imports.id"), nullable=False),
    Column("updated_at", String(32), nullable=False),
    _one_of("status", CardStatus),
)

# A department's payment roster for a period (``registry import-entitlements``).
entitlement_imports = Table(
    "entitlement_imports", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("department", String(64), nullable=False),
    Column("file_name", String(255), nullable=False),
    Column("sha256", String(64), nullable=False, index=True),
    Column("rows", Integer, nullable=False),
    Column("imported_at", String(32), nullable=False),
    Column("actor", String(64), nullable=False),
)

# One roster line: who, which item and period, how much. ``state`` follows EntitlementState; a refused
# line keeps its reason (``refusal``: JSON {code, data}); an intercepted one has payment_findings.
entitlements = Table(
    "entitlements", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("import_id", Integer, ForeignKey("entitlement_imports.id"), nullable=False, index=True),
    Column("line", Integer, nullable=False),
    Column("department", String(64), nullable=False),
    Column("id_number", String(18), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("item", String(32), nullable=False),
    Column("period", String(6), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("village_code", String(12), nullable=True, index=True),
    Column("card_id", Integer, ForeignKey("cards.id"), nullable=True),
    Column("state", String(16), nullable=False),
    Column("refusal", Text, nullable=True),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    Column("decided_by", String(64), nullable=True),
    Column("decided_at", String(32), nullable=True),
    # A pull counter (migration 0018), taken each time a line that failed at the bank changes, so the
    # village's laptops learn of it (protocol v6 ``payment_failure``); null while a line never failed.
    Column("notice_counter", BigInteger, nullable=True),
    Index("ix_entitlements_notice_counter", "notice_counter", sqlite_where=sql_text("notice_counter IS NOT NULL"),
          postgresql_where=sql_text("notice_counter IS NOT NULL")),
    # Not (item, period, state): a line paid is then rewritten in place on PostgreSQL (migration 0019).
    Index("ix_entitlements_item_period", "item", "period"),
    Index("ix_entitlements_id_number_item_period", "id_number", "item", "period"),
    CheckConstraint("amount_fen >= 0", name="amount_fen_not_negative"),
    _one_of("state", EntitlementState),
    postgresql_with={"fillfactor": ROOM_TO_REWRITE_IN_PLACE},
)

# What stopped a line: a dataset rule (the enrollment check's rules applied to the line's item), a
# duplicate payment, an amount over the standard, no active card, a name that is not the card holder's.
# status: open | resolved (released or rejected by a person).
payment_findings = Table(
    "payment_findings", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("entitlement_id", Integer, ForeignKey("entitlements.id"), nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("rule", String(64), nullable=False, server_default=""),
    Column("subject", String(100), nullable=False, server_default=""),
    Column("severity", String(16), nullable=False),
    Column("evidence", Text, nullable=False),
    Column("status", String(16), nullable=False, server_default="open"),
    Column("created_at", String(32), nullable=False),
    Column("resolved_at", String(32), nullable=True),
    Column("resolved_by", String(64), nullable=True),
    UniqueConstraint("entitlement_id", "kind", "rule", "subject", name="uq_payment_findings_key"),
)

# A batch: ready lines of one item and period (optionally one township), built by one person and
# authorised by another; its bank file's SHA-256 is also in the audit chain.
payment_batches = Table(
    "payment_batches", metadata,
    Column("id", String(36), primary_key=True),
    Column("item", String(32), nullable=False),
    Column("period", String(6), nullable=False),
    Column("township", String(9), nullable=False, server_default=""),
    Column("state", String(16), nullable=False, index=True),
    Column("lines", Integer, nullable=False),
    Column("total_fen", BigInteger, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("authorised_by", String(64), nullable=True),
    Column("authorised_at", String(32), nullable=True),
    Column("export_sha256", String(64), nullable=True),
    Column("exported_at", String(32), nullable=True),
    Column("settled_at", String(32), nullable=True),
    CheckConstraint("authorised_by IS NULL OR authorised_by <> created_by", name="four_eyes"),
    _one_of("state", BatchState),
)

_OPEN_LINE = "state IN ('at_bank', 'credited')"

# One payment of one entitlement. A retry is a new line in a later batch, allowed only when every earlier
# line of the entitlement bounced or was reversed: the partial unique indexes make a second open or credited
# line for the same entitlement, or for the same person, item and period (``pay_key``, across departments),
# impossible in the database itself. ``is_open`` (at the bank or credited), computed by the database from the
# state, is their predicate rather than the state itself, so that a credited line is rewritten in place on
# PostgreSQL (migration 0019).
payment_lines = Table(
    "payment_lines", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("reference", String(32), nullable=False, unique=True),
    Column("batch_id", String(36), ForeignKey("payment_batches.id"), nullable=False, index=True),
    Column("entitlement_id", Integer, ForeignKey("entitlements.id"), nullable=False, index=True),
    Column("pay_key", String(64), nullable=False),
    Column("card_id", Integer, ForeignKey("cards.id"), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("state", String(16), nullable=False),
    Column("reason_code", String(32), nullable=True),
    Column("bank_reason", String(200), nullable=True),
    Column("result_import_id", Integer, ForeignKey("result_imports.id"), nullable=True),
    Column("created_at", String(32), nullable=False),
    Column("settled_at", String(32), nullable=True),
    Column("is_open", Boolean, Computed(_OPEN_LINE, persisted=True)),
    Index("uq_payment_lines_open_entitlement", "entitlement_id", unique=True,
          sqlite_where=sql_text("is_open"), postgresql_where=sql_text("is_open")),
    Index("uq_payment_lines_open_pay_key", "pay_key", unique=True,
          sqlite_where=sql_text("is_open"), postgresql_where=sql_text("is_open")),
    CheckConstraint("amount_fen > 0", name="amount_fen_positive"),
    _one_of("state", PaymentLineState),
    postgresql_with={"fillfactor": ROOM_TO_REWRITE_IN_PLACE},
)

# The bank's return files (回盘): the same file (by SHA-256) is taken once.
result_imports = Table(
    "result_imports", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sha256", String(64), nullable=False, unique=True),
    Column("file_name", String(255), nullable=False),
    Column("lines", Integer, nullable=False),
    Column("credited", Integer, nullable=False),
    Column("bounced", Integer, nullable=False),
    Column("errors", Integer, nullable=False),
    Column("imported_at", String(32), nullable=False),
    Column("actor", String(64), nullable=False),
)

# A line of a return file that could not be applied (an unknown reference, a wrong amount, a duplicate):
# kept with its code, never a crash.
result_errors = Table(
    "result_errors", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("import_id", Integer, ForeignKey("result_imports.id"), nullable=False, index=True),
    Column("line", Integer, nullable=False),
    Column("reference", String(64), nullable=False, server_default=""),
    Column("code", String(48), nullable=False),
    Column("data", Text, nullable=False, server_default="{}"),
)

# The SMS outbox: one message per (payment line, kind, recipient), exactly once, because the gateways are
# not idempotent. kind: credited (to the resident) | bounced (to the village's cadres, not the resident).
# recipient (migration 0016): ``resident`` or ``operator:<id>`` (one row per cadre of the village). A
# sender claims a row by writing its ``claim`` token and pushing ``next_attempt_at`` to the lease's end
# (registry.sms.outbox); ``receipt``/``receipt_at``: the gateway's delivery report.
sms_outbox = Table(
    "sms_outbox", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("payment_line_id", Integer, ForeignKey("payment_lines.id"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("phone", String(20), nullable=True),
    Column("template", String(64), nullable=False),
    Column("params", Text, nullable=False),
    Column("state", String(16), nullable=False, index=True),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", String(32), nullable=True),
    Column("gateway", String(32), nullable=True),
    Column("gateway_ref", String(100), nullable=True),
    Column("last_error", String(200), nullable=True),
    Column("receipt", String(32), nullable=True),
    Column("created_at", String(32), nullable=False),
    Column("sent_at", String(32), nullable=True),
    Column("recipient", String(32), nullable=False, server_default="resident"),
    Column("claim", String(32), nullable=True),
    Column("receipt_at", String(32), nullable=True),
    UniqueConstraint("payment_line_id", "kind", "recipient", name="uq_sms_outbox_line_kind_recipient"),
    Index("ix_sms_outbox_due", "state", "next_attempt_at"),
    _one_of("state", SmsState),
)


# The residents' self-query page (migration 0015, ``registry.selfquery``): one row per SMS code asked
# for, also when the ID number and card tail named nobody (then ``id_number`` and ``code_hash`` are
# NULL and no code matches), so every answer is the same for known and unknown people. The code is
# never stored: ``code_hash`` is HMAC-SHA256(ticket, code) and only the page holds the ticket.
selfquery_codes = Table(
    "selfquery_codes", metadata,
    Column("ticket_hash", String(64), primary_key=True),
    Column("id_number", String(18), nullable=True),
    Column("code_hash", String(64), nullable=True),
    Column("created_at", String(32), nullable=False),
    Column("expires_at", String(32), nullable=False, index=True),
    Column("wrong_count", Integer, nullable=False, server_default="0"),
    Column("used_at", String(32), nullable=True),
    CheckConstraint("wrong_count >= 0", name="wrong_count_not_negative"),
)

# Counters of the payment roster checks (migration 0017): per rule or check (a dataset rule's id, or a
# PaymentFindingKind for the card, duplicate and standard checks) AND per paying department, cumulative.
# compared: lines the rule looked at; intercepted: lines it stopped.
payment_rule_stats = Table(
    "payment_rule_stats", metadata,
    Column("rule_id", String(64), primary_key=True),
    Column("department", String(64), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("compared", BigInteger, nullable=False, server_default="0"),
    Column("intercepted", BigInteger, nullable=False, server_default="0"),
    Column("updated_at", String(32), nullable=False),
)
