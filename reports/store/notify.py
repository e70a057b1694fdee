"""Telling operators about regressions: a webhook POST and an e-mail.

Both carry the diff (:mod:`shophealth.reports.store.diff`) of the night's run
against each shop's previous stored run; they are sent only when something
got worse (a new finding or a lower overall score). The webhook receives the
diff as JSON (``Content-Type: application/json``); the e-mail is plain text,
one line per new problem, with the diff attached as JSON. SMTP settings are
a URL, ``smtp://[user@]host[:port]`` (``smtps://`` for TLS from the start,
``smtp+starttls://`` to upgrade), the password in ``$SHOPHEALTH_SMTP_PASSWORD``.
Sending failures are reported by the caller, never fatal to the scan.
"""

from __future__ import annotations

import json
import os
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

SMTP_PASSWORD_ENV = "SHOPHEALTH_SMTP_PASSWORD"
TIMEOUT_S = 30.0
NEW_LISTED = 50  # new problems listed in an e-mail's text


class NotifyError(Exception):
    """A notification that could not be sent (one line)."""


def post_webhook(url: str, diff: Mapping[str, Any], user_agent: str = "shophealth") -> None:
    try:
        response = httpx.post(url, json=diff, timeout=TIMEOUT_S, headers={"User-Agent": user_agent})
    except httpx.HTTPError as exc:
        raise NotifyError(f"webhook {url}: {type(exc).__name__}: {exc}") from None
    if response.status_code >= 300:
        raise NotifyError(f"webhook {url} answered {response.status_code}")


def regression_text(diff: Mapping[str, Any]) -> str:
    """The e-mail's text: per shop, the score change and the new problems."""
    lines = [f"shophealth: {diff['totals']['new']} new problems, {diff['totals']['fixed']} fixed."]
    for site in diff["sites"]:
        overall = site["scores"]["overall"]
        lines += ["", f"{site['site']}: score {overall['old']} -> {overall['new']}"]
        lines += [
            f"  new {f['severity']}: {f['check']} on {f['page']}: {f['message']}"
            for f in site["new"][:NEW_LISTED]
        ]
        if len(site["new"]) > NEW_LISTED:
            lines.append(f"  … and {len(site['new']) - NEW_LISTED} more (see the attached diff)")
    return "\n".join(lines) + "\n"


def send_mail(smtp_url: str, sender: str, recipients: Sequence[str], diff: Mapping[str, Any]) -> None:
    message = EmailMessage()
    message["Subject"] = f"shophealth: {diff['totals']['new']} new problems since the last run"
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message.set_content(regression_text(diff))
    attachment = json.dumps(diff, ensure_ascii=False, indent=2).encode("utf-8")
    message.add_attachment(attachment, maintype="application", subtype="json", filename="diff.json")
    parts = urlsplit(smtp_url)
    if parts.scheme not in ("smtp", "smtps", "smtp+starttls") or not parts.hostname:
        raise NotifyError(f"not an SMTP URL: {smtp_url!r} (smtp://host:port)")
    try:
        with _connect(parts.scheme, parts.hostname, parts.port) as smtp:
            if parts.username:
                smtp.login(unquote(parts.username), os.environ.get(SMTP_PASSWORD_ENV, ""))
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise NotifyError(f"e-mail through {parts.hostname}: {type(exc).__name__}: {exc}") from None


def _connect(scheme: str, host: str, port: int | None) -> smtplib.SMTP:
    if scheme == "smtps":
        return smtplib.SMTP_SSL(host, port or 465, timeout=TIMEOUT_S, context=ssl.create_default_context())
    smtp = smtplib.SMTP(host, port or 25, timeout=TIMEOUT_S)
    if scheme == "smtp+starttls":
        smtp.starttls(context=ssl.create_default_context())
    return smtp
