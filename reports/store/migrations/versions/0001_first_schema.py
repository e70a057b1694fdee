"""The first schema: runs, shops, and per shop run its pages, findings, check
statuses, scores, TLS hosts, Lighthouse scores and unverifiable links.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _child(name: str, *columns: sa.Column[object]) -> None:
    """A table of rows that belong to one shop run."""
    op.create_table(
        name,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "shop_run_id", sa.Integer, sa.ForeignKey("shop_runs.id", ondelete="CASCADE"), nullable=False
        ),
        *columns,
    )
    op.create_index(f"ix_{name}_shop_run_id", name, ["shop_run_id"])


def upgrade() -> None:
    op.create_table(
        "shops",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("url", sa.Text, nullable=False, unique=True),
        sa.Column("name", sa.Text),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("started_at", sa.String(40), nullable=False),
        sa.Column("finished_at", sa.String(40)),
        sa.Column("tool_version", sa.String(40)),
        sa.Column("config", sa.JSON, nullable=False),
    )
    op.create_table(
        "shop_runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run_id", sa.String(64), sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("shop_id", sa.Integer, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("stats", sa.JSON, nullable=False),
        sa.Column("overall", sa.Float),
        sa.Column("algorithm_version", sa.Integer),
        sa.UniqueConstraint("run_id", "shop_id"),
    )
    op.create_index("ix_shop_runs_run_id", "shop_runs", ["run_id"])
    op.create_index("ix_shop_runs_shop_id", "shop_runs", ["shop_id"])
    _child(
        "pages",
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("status", sa.Integer),
        sa.Column("kind", sa.String(40)),
    )
    _child(
        "findings",
        sa.Column("fingerprint", sa.String(40), nullable=False),
        sa.Column("check", sa.String(80), nullable=False),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("page", sa.Text, nullable=False),
        sa.Column("target", sa.Text),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("evidence", sa.JSON, nullable=False),
    )
    op.create_index("ix_findings_fingerprint", "findings", ["fingerprint"])
    _child(
        "check_outcomes",
        sa.Column("check", sa.String(80), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("findings", sa.Integer, nullable=False),
        sa.Column("detail", sa.Text),
    )
    _child(
        "scores",
        sa.Column("scope", sa.String(10), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("value", sa.Float),
    )
    _child(
        "tls_hosts",
        sa.Column("host", sa.String(300), nullable=False),
        sa.Column("valid", sa.Boolean),
        sa.Column("error", sa.Text),
        sa.Column("issuer", sa.Text),
        sa.Column("not_after", sa.String(40)),
        sa.Column("days_left", sa.Float),
    )
    _child(
        "lighthouse_scores",
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("score", sa.Float),
    )
    _child(
        "unverifiable_links",
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("pages", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    for name in (
        "unverifiable_links",
        "lighthouse_scores",
        "tls_hosts",
        "scores",
        "check_outcomes",
        "findings",
        "pages",
        "shop_runs",
        "runs",
        "shops",
    ):
        op.drop_table(name)
