"""Checkpoints: the pages and link verdicts of a run in progress, so that a
killed scan can be resumed (``scan --resume``); dropped when the run completes.

Revision ID: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "checkpoint_items",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("site", sa.Text, nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_checkpoint_items_run_id", "checkpoint_items", ["run_id"])


def downgrade() -> None:
    op.drop_table("checkpoint_items")
