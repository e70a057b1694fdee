"""The ``shophealth`` command's entry point (``python -m shophealth`` too).

It starts the spare worker process of a crawling command (:mod:`shophealth.crawler.spare`)
before importing the command line interface, whose imports take the first third of a
second of every scan."""

from __future__ import annotations

import sys

from shophealth.crawler import spare


def main() -> None:
    if spare.wanted(sys.argv[1:]):
        spare.start()
    from shophealth.crawler.cli import app

    app(prog_name="shophealth")
