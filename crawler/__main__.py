"""``python -m crawler`` runs the ``shophealth`` command."""

from crawler.cli import app

app(prog_name="shophealth")
