"""Saved evidence: what a scan gathered, on disk, so that ``shophealth judge`` can judge it again.

``shophealth scan … --save-evidence DIR`` writes, and ``shophealth judge DIR``
reads, this layout (format ``shophealth.evidence/1``)::

    DIR/manifest.json                  the format, the run and one entry per shop (below)
    DIR/site-00/pages.jsonl.zst        every crawled page (crawler.evidence.Page), one a line
    DIR/site-00/links.jsonl.zst        every link target's facts (LinkResult)
    DIR/site-00/tls.jsonl.zst          TLS facts per host (TlsFacts)
    DIR/site-00/rendered.jsonl.zst     pages rendered in the browser (RenderedPage)
    DIR/site-00/lighthouse.jsonl.zst   Lighthouse results (LighthouseResult), with the LHR JSON
    DIR/site-00/probe.jsonl.zst        the not-found probe's answer (a Page; no line when none)
    DIR/site-00/plain_http.jsonl.zst   the home asked over http:// (a Page; no line when none)
    DIR/site-00/cuts.jsonl.zst         crawler traps cut off (CrawlCut; absent in older folders)
    DIR/site-00/screenshots/*.png      the rendered pages' screenshots (those taken into DIR/screenshots
                                       by --save-evidence alone stay there, named ../screenshots/…)

``manifest.json``: ``{"format": "shophealth.evidence/1", "tool_version": …,
"run": {"id", "started_at", "finished_at", "interrupted", "config"},
"sites": [{"folder": "site-00", "url", "name", "site", "home", "error",
"missing": {kind: reason}, "stats": {…}, "checks": {check id: setting},
"config": {the shop's settings, as the report's site ``config``}}]}`` (``config``
added later: a folder without it is judged with the default settings).

Each ``.jsonl.zst`` file is one Zstandard frame (level 3) of JSON lines; a
line is one record of :mod:`shophealth.crawler.evidence`, with the
dataclass's field names, except that the fields the scan keeps compressed
(in memory or in its spool file) are stored uncompressed, so that the file's
compression works across records (a shop's pages share most of their markup;
on the 2,000-page benchmark shop, 14 MB instead of 61 MB as base64 of each
page's own compression): ``body_blob`` is stored as ``html``, ``facts.text_blob`` as
``facts.text``, a link's ``body_head_z`` as ``body_head`` and a Lighthouse
result's ``report_z`` as ``report``. Their values are the raw bytes (UTF-8
text, or whatever a server sent) as a string of the code points 0-255, one a
byte (Latin-1), so that any bytes round-trip exactly. Enum fields are their
values (``error_kind: "tls"``). A rendered page's ``screenshot`` is relative
to its site folder.

Loaded pages are kept as a crawl keeps them (equal references shared, HTML
and text in a temporary spool file: ``crawler.evidence``): the 2,000-page
benchmark shop's pages take 24 MB of memory instead of 140 MB.

Versioning: a reader refuses another major version (``shophealth.evidence/2``)
with a one-line error; fields it does not know are ignored, so minor
additions stay readable. A folder is untrusted input: anything malformed in it
is an :class:`EvidenceError` naming the file, never a traceback.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import msgspec
import zstandard

from shophealth import __version__
from shophealth.checks.registry import Registry
from shophealth.crawler.config import ConfigError, ScanConfig, SiteConfig, apply_options
from shophealth.crawler.evidence import (
    Blob,
    CrawlCut,
    Interner,
    LighthouseResult,
    LinkResult,
    Page,
    RenderedPage,
    SiteEvidence,
    Spool,
    TlsFacts,
    compress_bytes,
    compress_fast,
    decompress,
    decompress_fast,
    kept_as_crawled,
)
from shophealth.crawler.scan import Run, SiteRun, judge_site, not_scanned

FORMAT = "shophealth.evidence/1"
MANIFEST = "manifest.json"
SCREENSHOTS = "screenshots"
CHUNK = (
    1 << 16
)  # compressed bytes read at a time: 1 MB inflated to ~30 MB of lines at once (+76 MB RSS on 10,000 pages)
ZSTD_LEVEL = 3
_ENCODER = msgspec.json.Encoder()
Record = TypeVar("Record")


@dataclasses.dataclass(frozen=True)
class Unpacked:
    """A field kept compressed in memory and stored uncompressed: where, and how to undo it."""

    container: str | None  # the nested record holding it ("facts"), or None for the record itself
    field: str  # the in-memory field (``body_z``)
    stored_as: str  # its name on disk (``html``)
    decompress: Callable[[bytes], bytes]
    compress: Callable[[bytes], bytes | Blob]


def _zstd(raw: bytes) -> bytes:
    return compress_bytes(raw) if raw else b""  # the scan keeps "nothing" as no bytes


UNPACKED: dict[type, tuple[Unpacked, ...]] = {
    Page: (
        Unpacked(None, "body_blob", "html", decompress, lambda raw: Blob(_zstd(raw))),
        Unpacked("facts", "text_blob", "text", decompress_fast, lambda raw: Blob(compress_fast(raw))),
    ),
    LinkResult: (Unpacked(None, "body_head_z", "body_head", decompress, _zstd),),
    LighthouseResult: (Unpacked(None, "report_z", "report", decompress, _zstd),),
}


class EvidenceError(Exception):
    """An evidence folder that cannot be read or written; the message says which file and why."""


@dataclasses.dataclass(frozen=True)
class SavedSite:
    """One shop's saved evidence, with what judging it needs besides the evidence."""

    site: SiteConfig
    evidence: SiteEvidence
    stats: dict[str, Any]
    error: str | None


@dataclasses.dataclass(frozen=True)
class SavedRun:
    run: Run  # without its sites
    sites: list[SavedSite]


# --- writing ------------------------------------------------------------------------------


def check_evidence_folder(folder: Path) -> None:
    """Refuse a folder evidence cannot be written to, before the scan that fills it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / MANIFEST).touch()
    except OSError as exc:
        raise ConfigError(f"--save-evidence {folder}: cannot write: {exc.strerror or exc}") from None


def save_evidence(run: Run, folder: Path) -> None:
    """Write every shop's evidence of ``run`` to ``folder`` (created; its old files replaced)."""
    entries = [
        save_site_evidence(site, folder, index)
        for index, site in enumerate(run.sites)
        if isinstance(site, SiteRun)
    ]
    write_manifest(run, entries, folder)


def save_site_evidence(site_run: SiteRun, folder: Path, position: int) -> dict[str, Any]:
    """Write one shop's evidence into ``folder``'s ``site-NN`` (NN: its position in the
    run), as soon as it is judged; the manifest entry to give :func:`write_manifest`."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return _save_site(site_run, folder, f"site-{position:02d}")
    except OSError as exc:
        raise EvidenceError(f"cannot write evidence to {folder}: {exc.strerror or exc}") from None


def write_manifest(run: Run, entries: Iterable[Mapping[str, Any]], folder: Path) -> None:
    """The manifest naming the shops whose evidence was written (``entries``, in run order)."""
    manifest = {"format": FORMAT, "tool_version": __version__, "run": _run_entry(run), "sites": list(entries)}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / MANIFEST).write_bytes(msgspec.json.format(_ENCODER.encode(manifest)))
    except OSError as exc:
        raise EvidenceError(f"cannot write evidence to {folder}: {exc.strerror or exc}") from None


def _run_entry(run: Run) -> dict[str, Any]:
    return {
        "id": run.id,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "interrupted": run.interrupted,
        "config": run.config,
    }


def _save_site(site_run: SiteRun, root: Path, name: str) -> dict[str, Any]:
    folder = root / name
    folder.mkdir(exist_ok=True)
    evidence = site_run.evidence
    _write_lines(folder / "pages.jsonl.zst", evidence.pages)
    _write_lines(folder / "links.jsonl.zst", evidence.links.values())
    _write_lines(folder / "tls.jsonl.zst", evidence.tls)
    _write_lines(folder / "rendered.jsonl.zst", [_keep_screenshot(r, folder) for r in evidence.rendered])
    _write_lines(folder / "lighthouse.jsonl.zst", evidence.lighthouse)
    _write_lines(folder / "probe.jsonl.zst", [evidence.probe] if evidence.probe else [])
    _write_lines(folder / "plain_http.jsonl.zst", [evidence.plain_http] if evidence.plain_http else [])
    _write_lines(folder / "cuts.jsonl.zst", evidence.cuts)
    return {
        "folder": name,
        "url": site_run.site.url,
        "name": site_run.site.name,
        "site": evidence.site,
        "home": evidence.home,
        "error": site_run.error,
        "missing": dict(evidence.missing),
        "stats": site_run.stats,
        "checks": dict(site_run.site.config.checks),
        "config": site_run.site.config.public(),
    }


def _write_lines(path: Path, records: Iterable[object]) -> None:
    with path.open("wb") as raw, zstandard.ZstdCompressor(level=ZSTD_LEVEL).stream_writer(raw) as out:
        for record in records:
            out.write(_ENCODER.encode(_stored(record)) + b"\n")


def _stored(record: object) -> object:
    """``record`` as plain data, its compressed fields uncompressed (see the module docstring)."""
    unpacked = UNPACKED.get(type(record))
    if not unpacked:
        return record
    data = msgspec.to_builtins(record, builtin_types=(bytes,), enc_hook=_blob_bytes)
    for spec in unpacked:
        holder = data if spec.container is None else data[spec.container]
        if holder is not None:
            holder[spec.stored_as] = spec.decompress(holder.pop(spec.field)).decode("latin-1")
    return data


def _blob_bytes(value: object) -> bytes:
    if isinstance(value, Blob):
        return value.read()
    raise NotImplementedError(f"cannot store {type(value).__name__}")


def _keep_screenshot(rendered: RenderedPage, folder: Path) -> RenderedPage:
    """``rendered`` with its screenshot path made relative to the site folder: one taken
    into the evidence folder already (``--save-evidence`` alone) stays where it is, any
    other is copied into the site folder."""
    if not rendered.screenshot or not Path(rendered.screenshot).is_file():
        return dataclasses.replace(rendered, screenshot=None)
    source = Path(rendered.screenshot).resolve()
    if source.is_relative_to(folder.parent.resolve()):
        return dataclasses.replace(rendered, screenshot=os.path.relpath(source, folder.resolve()))
    (folder / SCREENSHOTS).mkdir(exist_ok=True)
    shutil.copyfile(source, folder / SCREENSHOTS / source.name)
    return dataclasses.replace(rendered, screenshot=f"{SCREENSHOTS}/{source.name}")


# --- reading ------------------------------------------------------------------------------


class _SiteEntry(msgspec.Struct):
    folder: str
    url: str
    site: str
    home: str
    name: str | None = None
    error: str | None = None
    missing: dict[str, str] = {}
    stats: dict[str, Any] = {}
    checks: dict[str, Any] = {}
    config: dict[str, Any] = {}


class _RunEntry(msgspec.Struct):
    id: str
    started_at: str
    finished_at: str = ""
    interrupted: bool = False
    config: dict[str, Any] = {}


class _Manifest(msgspec.Struct):
    format: str
    run: _RunEntry
    sites: list[_SiteEntry]


def load_evidence(folder: Path) -> SavedRun:
    """The run saved in ``folder``, each shop's evidence as the scan held it."""
    manifest = _read_manifest(folder)
    run = Run(
        id=manifest.run.id,
        started_at=manifest.run.started_at,
        finished_at=manifest.run.finished_at,
        interrupted=manifest.run.interrupted,
        config=manifest.run.config,
    )
    return SavedRun(run, [_load_site(folder, entry) for entry in manifest.sites])


def _read_manifest(folder: Path) -> _Manifest:
    path = folder / MANIFEST
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise EvidenceError(
            f"no evidence in {folder}: cannot read {MANIFEST} ({exc.strerror or exc})"
        ) from None
    try:
        found = json.loads(data).get("format")
    except (ValueError, AttributeError):
        raise EvidenceError(f"{path} is not a shophealth evidence manifest") from None
    if not isinstance(found, str) or found.split("/")[0] != FORMAT.split("/")[0]:
        raise EvidenceError(f"{path} is not a shophealth evidence manifest")
    if found != FORMAT:
        raise EvidenceError(f"{path} is in format {found!r}; this shophealth reads {FORMAT!r}")
    try:
        return msgspec.json.decode(data, type=_Manifest)
    except msgspec.ValidationError as exc:
        raise EvidenceError(f"{path}: {exc}") from None


def _load_site(root: Path, entry: _SiteEntry) -> SavedSite:
    folder = _inside(root, entry.folder)
    rendered = [
        _found_screenshot(r, folder, root) for r in _read_lines(folder / "rendered.jsonl.zst", RenderedPage)
    ]
    probe = _read_lines(folder / "probe.jsonl.zst", Page)
    plain_http = _read_lines(folder / "plain_http.jsonl.zst", Page)
    interner = Interner()
    evidence = SiteEvidence(
        site=entry.site,
        home=entry.home,
        pages=tuple(_read_lines(folder / "pages.jsonl.zst", Page, _kept_as_crawled(interner, Spool()))),
        links={r.url: r for r in _read_lines(folder / "links.jsonl.zst", LinkResult, _shared_link(interner))},
        probe=probe[0] if probe else None,
        tls=tuple(_read_lines(folder / "tls.jsonl.zst", TlsFacts)),
        rendered=tuple(rendered),
        lighthouse=tuple(_read_lines(folder / "lighthouse.jsonl.zst", LighthouseResult)),
        missing=entry.missing,
        plain_http=plain_http[0] if plain_http else None,
        cuts=tuple(_read_lines(cuts, CrawlCut)) if (cuts := folder / "cuts.jsonl.zst").is_file() else (),
    )
    site = SiteConfig(url=entry.url, name=entry.name, config=_site_settings(root, entry))
    return SavedSite(site, evidence, entry.stats, entry.error)


def _site_settings(root: Path, entry: _SiteEntry) -> ScanConfig:
    """The settings the shop was scanned with (the defaults for a folder that did not
    keep them), with its saved check settings."""
    try:
        config = apply_options(ScanConfig(), entry.config, f"{root / MANIFEST}: {entry.url}")
    except ConfigError as exc:
        raise EvidenceError(str(exc)) from None
    return config.replace(checks=entry.checks)


def _kept_as_crawled(interner: Interner, spool: Spool) -> Callable[[Page], Page]:
    """What keeps a page read as a crawl keeps it (:func:`kept_as_crawled`)."""
    return lambda page: kept_as_crawled(page, interner, spool)


def _shared_link(interner: Interner) -> Callable[[LinkResult], LinkResult]:
    """What makes a link target read share its URL, headers and sightings' strings with the pages'."""

    def shared(link: LinkResult) -> LinkResult:
        return dataclasses.replace(
            link,
            url=interner.string(link.url),
            headers=interner.headers(link.headers),
            seen=interner.sightings(link.seen),
        )

    return shared


def _inside(root: Path, name: str) -> Path:
    """``root / name``, refusing a name that leads out of ``root`` (the manifest is untrusted)."""
    folder = (root / name).resolve()
    if folder.parent != root.resolve():
        raise EvidenceError(f"{root / MANIFEST}: site folder {name!r} is not inside the evidence folder")
    return folder


def _read_lines(
    path: Path, kind: type[Record], each: Callable[[Record], Record] | None = None
) -> list[Record]:
    """The records of one file, each passed through ``each`` as it is read, when given."""
    try:
        if each is not None:
            return [each(_record(line, kind)) for line in _lines(path)]
        return [_record(line, kind) for line in _lines(path)]
    except OSError as exc:
        raise EvidenceError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (msgspec.DecodeError, zstandard.ZstdError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise EvidenceError(f"{path} is damaged: {type(exc).__name__}: {exc}"[:300]) from None


def _record(line: bytes, kind: type[Record]) -> Record:
    """One stored line as the record it was, its compressed fields compressed again."""
    unpacked = UNPACKED.get(kind)
    if not unpacked:
        return msgspec.json.decode(line, type=kind)
    data = msgspec.json.decode(line)
    for spec in unpacked:
        holder = data if spec.container is None else data[spec.container]
        if holder is not None:
            holder[spec.field] = spec.compress(holder.pop(spec.stored_as).encode("latin-1"))
    return msgspec.convert(data, kind, builtin_types=(bytes,))


def _lines(path: Path) -> Iterator[bytes]:
    """The lines of one file, read a chunk at a time; a file cut short is damaged."""
    stream = zstandard.ZstdDecompressor().decompressobj()
    rest = b""
    with path.open("rb") as raw:
        while chunk := raw.read(CHUNK):
            *lines, rest = (rest + stream.decompress(chunk)).split(b"\n")
            yield from (line for line in lines if line.strip())
    if not stream.eof or rest.strip():
        raise ValueError("the file ends before its last record does")


def _found_screenshot(rendered: RenderedPage, folder: Path, root: Path) -> RenderedPage:
    """``rendered`` with its screenshot's absolute path, if the file is inside the evidence folder."""
    if rendered.screenshot is None:
        return rendered
    path = (folder / rendered.screenshot).resolve()
    inside = path.is_relative_to(root.resolve())
    return dataclasses.replace(rendered, screenshot=str(path) if inside else None)


# --- judging ------------------------------------------------------------------------------


def judge_saved(
    saved: SavedRun, registry: Registry, checks: Mapping[str, Mapping[str, Any]] | None = None
) -> Run:
    """The run judged again from its saved evidence, as the scan judged it; ``checks``
    (shop URL → check settings) replaces a shop's saved check settings."""
    run = dataclasses.replace(saved.run, sites=[])
    for entry in saved.sites:
        site = entry.site
        if checks is not None and site.url in checks:
            site = dataclasses.replace(site, config=site.config.replace(checks=checks[site.url]))
        if entry.error is not None:  # the scan judged nothing: the shop could not be scanned
            run.sites.append(not_scanned(site, registry, entry.error, entry.evidence, entry.stats))
        else:
            run.sites.append(judge_site(site, entry.evidence, entry.stats, registry))
    return run
