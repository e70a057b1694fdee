"""``python -m shophealth`` runs the ``shophealth`` command."""

from shophealth.crawler.entry import main

main()
