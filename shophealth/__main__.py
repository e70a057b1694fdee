"""``python -m shophealth`` runs the ``shophealth`` command."""

from shophealth.crawler.cli import app

app(prog_name="shophealth")
