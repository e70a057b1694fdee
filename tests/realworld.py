"""Load the real-world corpus (``../shared/realworld/`` or ``$SHOPHEALTH_REALWORLD``) and its labels.

The corpus and its ``MANIFEST.json`` are described in the corpus's own README:
each entry has ``labels`` (check ids that should fire, ``["none"]`` for none
of them), an optional ``labels_scope`` (the ids the labels speak for) and a
``role`` (``case`` entries are judged as fetched pages).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

Entry = dict[str, Any]


def corpus_dir() -> Path:
    """Where the corpus lives: ``$SHOPHEALTH_REALWORLD``, else ``shared/realworld`` beside the repo."""
    override = os.environ.get("SHOPHEALTH_REALWORLD")
    return Path(override) if override else Path(__file__).resolve().parents[2] / "shared" / "realworld"


def manifest_entries(folder: str) -> list[Entry]:
    """The manifest entries under ``folder`` (e.g. ``"links/"``); skips the test if the corpus is absent."""
    manifest = corpus_dir() / "MANIFEST.json"
    if not manifest.is_file():
        pytest.skip(f"real-world corpus not found at {corpus_dir()} (set SHOPHEALTH_REALWORLD)")
    files: list[Entry] = json.loads(manifest.read_text(encoding="utf-8"))["files"]
    return [e for e in files if str(e["path"]).startswith(folder)]


def cases(entries: list[Entry]) -> list[Entry]:
    """The entries to judge as fetched pages."""
    return [e for e in entries if e["role"] == "case" and e["labels"]]


def scope_of(entry: Entry, default: tuple[str, ...]) -> tuple[str, ...]:
    """The check ids an entry's labels speak for."""
    return tuple(entry.get("labels_scope") or default)


def expects(entry: Entry, check_id: str) -> bool:
    """Whether the labels say ``check_id`` should fire for this entry."""
    return check_id in entry["labels"]
