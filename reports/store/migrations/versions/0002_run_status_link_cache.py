"""A run's status (complete, interrupted, running; stored runs are complete)
and when it was first stored (orders runs started in the same second), and
the external-link cache kept across runs.

Revision ID: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("status", sa.String(20), nullable=False, server_default="complete"))
        batch.add_column(sa.Column("stored_at", sa.Float))
    op.create_table(
        "link_cache",
        sa.Column("url", sa.Text, primary_key=True),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("status", sa.Integer),
        sa.Column("detail", sa.JSON, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )
    op.create_index("ix_link_cache_expires_at", "link_cache", ["expires_at"])


def downgrade() -> None:
    op.drop_table("link_cache")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("stored_at")
        batch.drop_column("status")
