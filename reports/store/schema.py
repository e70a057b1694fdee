"""The history store's tables (SQLAlchemy 2 declarative models).

A *run* is one ``shophealth scan`` (one or many shops); a *shop run* is one
shop's part of it, with its pages, findings, check statuses, scores, TLS
facts, Lighthouse scores and unverifiable links. Only findings and summaries
are kept, never page bodies or screenshots. The tables are created and
changed by the Alembic migrations in ``migrations/versions`` only: a model
change needs a new migration there.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import JSON, Float, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON,
        dict[str, Any] | None: JSON,
        list[Any]: JSON,
    }


class Shop(Base):
    __tablename__ = "shops"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str | None] = mapped_column(Text)


class RunRow(Base):
    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    started_at: Mapped[str] = mapped_column(String(40))
    finished_at: Mapped[str | None] = mapped_column(String(40))
    tool_version: Mapped[str | None] = mapped_column(String(40))
    config: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(20), default="complete")  # complete, interrupted, running
    stored_at: Mapped[float | None] = mapped_column(Float)  # orders runs started in the same second
    shops: Mapped[list[ShopRun]] = relationship(back_populates="run", order_by="ShopRun.position")


class ShopRun(Base):
    __tablename__ = "shop_runs"
    __table_args__ = (UniqueConstraint("run_id", "shop_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)  # the shop's place in the run
    error: Mapped[str | None] = mapped_column(Text)
    stats: Mapped[dict[str, Any]]
    overall: Mapped[float | None] = mapped_column(Float)
    algorithm_version: Mapped[int | None] = mapped_column(Integer)
    scores: Mapped[dict[str, Any] | None]  # the report's whole scores object (migration 0004)
    facts: Mapped[dict[str, Any] | None]  # the report's facts about the shop (migration 0004)
    run: Mapped[RunRow] = relationship(back_populates="shops")
    shop: Mapped[Shop] = relationship()


class PageRow(Base):
    __tablename__ = "pages"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_run_id: Mapped[int] = mapped_column(ForeignKey("shop_runs.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(Text)
    status: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str | None] = mapped_column(String(40))
    final_url: Mapped[str | None] = mapped_column(Text)  # migration 0004


class FindingRow(Base):
    __tablename__ = "findings"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_run_id: Mapped[int] = mapped_column(ForeignKey("shop_runs.id", ondelete="CASCADE"), index=True)
    fingerprint: Mapped[str] = mapped_column(String(40), index=True)
    check: Mapped[str] = mapped_column(String(80))
    severity: Mapped[str] = mapped_column(String(10))
    page: Mapped[str] = mapped_column(Text)
    target: Mapped[str | None] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text)
    evidence: Mapped[dict[str, Any]]
    key: Mapped[str | None] = mapped_column(Text)  # Finding.key (migration 0005)


class CheckRow(Base):
    __tablename__ = "check_outcomes"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_run_id: Mapped[int] = mapped_column(ForeignKey("shop_runs.id", ondelete="CASCADE"), index=True)
    check: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(10))
    findings: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[str | None] = mapped_column(Text)


class ScoreRow(Base):
    __tablename__ = "scores"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_run_id: Mapped[int] = mapped_column(ForeignKey("shop_runs.id", ondelete="CASCADE"), index=True)
    scope: Mapped[str] = mapped_column(String(10))  # area or indicator (overall is on shop_runs)
    name: Mapped[str] = mapped_column(String(80))
    value: Mapped[float | None] = mapped_column(Float)


class TlsRow(Base):
    __tablename__ = "tls_hosts"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_run_id: Mapped[int] = mapped_column(ForeignKey("shop_runs.id", ondelete="CASCADE"), index=True)
    host: Mapped[str] = mapped_column(String(300))
    valid: Mapped[bool | None]
    error: Mapped[str | None] = mapped_column(Text)
    issuer: Mapped[str | None] = mapped_column(Text)
    not_after: Mapped[str | None] = mapped_column(String(40))
    days_left: Mapped[float | None] = mapped_column(Float)


class LighthouseRow(Base):
    __tablename__ = "lighthouse_scores"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_run_id: Mapped[int] = mapped_column(ForeignKey("shop_runs.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(40))
    score: Mapped[float | None] = mapped_column(Float)


class UnverifiableRow(Base):
    __tablename__ = "unverifiable_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_run_id: Mapped[int] = mapped_column(ForeignKey("shop_runs.id", ondelete="CASCADE"), index=True)
    target: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    count: Mapped[int] = mapped_column(Integer, default=1)
    pages: Mapped[list[Any]]


class LinkCacheRow(Base):
    """External-link verdicts kept across runs until ``expires_at`` (added in migration 0002)."""

    __tablename__ = "link_cache"

    url: Mapped[str] = mapped_column(Text, primary_key=True)
    outcome: Mapped[str] = mapped_column(String(20))
    status: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[dict[str, Any]]
    expires_at: Mapped[float] = mapped_column(Float, index=True)


class CheckpointItem(Base):
    """A page, link verdict or finished shop's report of a run in progress (added in migration 0003)."""

    __tablename__ = "checkpoint_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[str] = mapped_column(String(64), index=True)
    site: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(10))  # page, link or report (a finished shop's)
    url: Mapped[str] = mapped_column(Text)
    data: Mapped[bytes] = mapped_column(LargeBinary)
