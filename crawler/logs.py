"""Logging for every command: the standard ``logging`` module, set by ``--log-level`` and ``--log-file``.

What is logged, under the ``shophealth`` logger tree:

- ``warning``: a phase that was skipped or fell back (no Chromium, a browser
  that would not start, no Lighthouse, worker processes that died), a crawl
  cut short by its time budget;
- ``debug``: the traceback of every "internal error" the report shows (a page
  or link job, a check, a whole shop), and of a job that failed in a worker;
- ``info``: phases that are off by configuration or stopped by Ctrl-C, a crawl
  that reached its page limit.

Records go to ``--log-file`` when given (appended), else to stderr through
Rich, with markup off (log messages carry crawled, hostile text). Other
libraries' loggers are held at ``warning`` whatever the level: their debug
output (HTTP clients, asyncio) can carry request headers. Nothing secret is
logged: shophealth never logs headers or credentials, and
:class:`RedactSecrets` replaces, in every record, the value of each variable
named by ``credentials_env``/``headers_env`` (and its Basic-auth form) and
any ``user:password@`` in a URL with ``***``.
"""

from __future__ import annotations

import base64
import logging
import os
import re
from collections.abc import Iterable
from pathlib import Path

from rich.console import Console
from rich.logging import RichHandler

LEVELS = ("debug", "info", "warning", "error")
OWN_LOGGER = "shophealth"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
URL_CREDENTIALS = re.compile(r"(?<=://)[^/\s:@]+:[^/\s@]+@")
SECRET = "***"
HANDLER_NAME = "shophealth"


class RedactSecrets(logging.Filter):
    """Replaces secrets in a record's message (formatted with its arguments) and traceback."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets: set[str] = set()
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        for secret in secrets:
            if len(secret) >= 4:  # shorter ones would blank out ordinary words
                self.secrets.add(secret)
                self.secrets.add(base64.b64encode(secret.encode("utf-8")).decode("ascii"))

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = self._redact(record.getMessage()), None
        if record.exc_info and not record.exc_text:  # formatters print exc_text when it is set
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._redact(record.exc_text)
        return True

    def _redact(self, text: str) -> str:
        text = URL_CREDENTIALS.sub(SECRET + "@", text)
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, SECRET)
        return text


REDACT = RedactSecrets()


def forget_in_logs(variables: Iterable[str]) -> None:
    """Redact the values of these environment variables from every log record from now on."""
    REDACT.add(value for name in variables if (value := os.environ.get(name)))


def configure_logging(
    level: str = "warning", log_file: Path | None = None, console: Console | None = None
) -> None:
    """Send the ``shophealth`` loggers' records at ``level`` and above to ``log_file``, or to stderr."""
    handler: logging.Handler
    if log_file is not None:
        handler = logging.FileHandler(log_file, encoding="utf-8")
        handler.setFormatter(logging.Formatter(FORMAT))
    else:
        handler = RichHandler(console=console, markup=False, show_path=False, rich_tracebacks=False)
    handler.addFilter(REDACT)
    handler.set_name(HANDLER_NAME)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:  # set by an earlier call
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger(OWN_LOGGER).setLevel(level.upper())
