"""Outgoing mail: through LMS_SMTP_URL when set, otherwise to the log."""

import logging
import smtplib
import ssl
from email.message import EmailMessage
from urllib.parse import unquote, urlparse

log = logging.getLogger("lms.mail")


def send_mail(smtp_url: str | None, sender: str, to: str, subject: str, body: str) -> None:
    """Send a plain-text message; without an SMTP URL the message is logged instead."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(body)
    if not smtp_url:
        log.warning("mail (no LMS_SMTP_URL set) to=%s subject=%s\n%s", to, subject, body)
        return
    url = urlparse(smtp_url)
    host = url.hostname or "localhost"
    if url.scheme == "smtps":
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            host, url.port or 465, context=ssl.create_default_context(), timeout=20
        )
    else:
        client = smtplib.SMTP(host, url.port or 25, timeout=20)
    with client:
        if url.scheme == "smtp+starttls":
            client.starttls(context=ssl.create_default_context())
        if url.username:
            client.login(unquote(url.username), unquote(url.password or ""))
        client.send_message(msg)
