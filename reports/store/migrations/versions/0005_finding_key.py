"""A finding's ``key`` (what tells apart two findings of one check on one page,
e.g. seo.basics' missing title and missing description). Without it a stored
finding's fingerprint, recomputed by the diff, was not the one the report gave,
and every nightly diff showed such findings as fixed and new again.

Revision ID: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("findings") as batch:
        batch.add_column(sa.Column("key", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("findings") as batch:
        batch.drop_column("key")
