"""Gathering: the crawler, link verification, TLS, the browser and Lighthouse."""
