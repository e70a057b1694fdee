"""A shop run's whole ``scores`` object (rubric, details, reason) and its
``facts`` as the report has them, and each page's final URL. Runs stored
before keep their area and indicator rows; their ``scores`` are rebuilt
from them.

Revision ID: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("shop_runs") as batch:
        batch.add_column(sa.Column("scores", sa.JSON))
        batch.add_column(sa.Column("facts", sa.JSON))
    with op.batch_alter_table("pages") as batch:
        batch.add_column(sa.Column("final_url", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("pages") as batch:
        batch.drop_column("final_url")
    with op.batch_alter_table("shop_runs") as batch:
        batch.drop_column("facts")
        batch.drop_column("scores")
