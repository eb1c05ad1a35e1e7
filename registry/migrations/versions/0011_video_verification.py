"""The offline video path of remote verification (issue 11 item 4, docs/verification-api.md).

``verification_requests.video_challenge``: the digits and two actions a worker who cannot open the
link says and does in a clip (JSON ``{"digits", "actions"}``), drawn when the request is created.
Requests made before this revision get one drawn here (``secrets``, as ``random.SystemRandom`` does
for new ones), so every request can take a clip.

``verification_attempts``: ``method`` (live | video), ``clip_sha256`` (the clip blob of a video
attempt; unique per request, so a resent clip finds its attempt, and looked up by hash across requests
for the replay check), ``clip_purged_at`` (the clip no longer keeps its blob from collection: the
attempt's evidence was purged) and ``result`` (the answer's passed | retry | failed, for a resend).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from __future__ import annotations

import json
import secrets

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# enrollment.vocabulary.RANDOM_ACTIONS on the day (frozen here: a migration does not follow the code).
RANDOM_ACTIONS = ("open_mouth", "turn_left", "turn_right", "blink")


def _challenge() -> str:
    rng = secrets.SystemRandom()
    digits = "".join(str(rng.randrange(10)) for _ in range(4))
    return json.dumps({"actions": rng.sample(RANDOM_ACTIONS, 2), "digits": digits}, separators=(",", ":"))


def upgrade() -> None:
    op.add_column("verification_requests", sa.Column("video_challenge", sa.Text, nullable=True))
    op.add_column("verification_attempts", sa.Column("method", sa.String(16), server_default="live", nullable=False))
    op.add_column("verification_attempts", sa.Column("clip_sha256", sa.String(64), nullable=True))
    op.add_column("verification_attempts", sa.Column("clip_purged_at", sa.String(32), nullable=True))
    op.add_column("verification_attempts", sa.Column("result", sa.String(16), nullable=True))
    op.create_index("ix_verification_attempts_clip", "verification_attempts", ["clip_sha256", "request_id"],
                    unique=True)
    conn = op.get_bind()
    requests = sa.table("verification_requests", sa.column("id", sa.String), sa.column("video_challenge", sa.Text))
    for (request_id,) in conn.execute(sa.select(requests.c.id).where(requests.c.video_challenge.is_(None))).all():
        conn.execute(sa.update(requests).where(requests.c.id == request_id).values(video_challenge=_challenge()))


def downgrade() -> None:
    op.drop_index("ix_verification_attempts_clip", table_name="verification_attempts")
    with op.batch_alter_table("verification_attempts") as batch:
        for column in ("result", "clip_purged_at", "clip_sha256", "method"):
            batch.drop_column(column)
    with op.batch_alter_table("verification_requests") as batch:
        batch.drop_column("video_challenge")
