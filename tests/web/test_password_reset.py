"""Password reset end to end through a real SMTP server (aiosmtpd), not a mock."""

import re
import socket
from email import message_from_bytes
from email.message import Message

import pytest
from aiosmtpd.controller import Controller

from tests.factories import PASSWORD, csrf_token, make_user, web_login

NEW_PASSWORD = "lighthouse pebbles and tide charts"


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, f"smtp://127.0.0.1:{port}"
    controller.stop()


def test_reset_by_email_end_to_end(client, app, session, smtp):
    inbox, url = smtp
    app.state.settings.smtp_url = url
    user = make_user(session)
    session.commit()
    response = client.post(
        "/forgot", data={"email": user.email.upper(), "csrf_token": csrf_token(client, "/forgot")}
    )
    assert response.status_code == 200
    assert len(inbox.messages) == 1
    mail = inbox.messages[0]
    assert mail["To"] == user.email
    link = re.search(
        r"http://testserver(/reset/\S+)", mail.get_payload(decode=True).decode()
    ).group(1)
    assert client.get(link).status_code == 200
    token = csrf_token(client, link)
    weak = client.post(link, data={"password": "short", "csrf_token": token})
    assert weak.status_code == 422 and "at least 15" in weak.text
    done = client.post(link, data={"password": NEW_PASSWORD, "csrf_token": token})
    assert done.status_code == 200, done.text
    again = client.post(link, data={"password": NEW_PASSWORD + " again", "csrf_token": token})
    assert again.status_code == 422 and "already used" in again.text  # single use
    bad = client.post(
        "/signin", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
    )
    assert bad.status_code == 401
    web_login(client, user.email, NEW_PASSWORD)


def test_unknown_email_gets_the_same_answer_and_no_mail(client, app, smtp):
    inbox, url = smtp
    app.state.settings.smtp_url = url
    response = client.post(
        "/forgot", data={"email": "nobody@example.org", "csrf_token": csrf_token(client, "/forgot")}
    )
    assert response.status_code == 200
    assert "If an account uses that email" in response.text
    assert inbox.messages == []


def test_expired_reset_link_is_refused(client, session):
    from datetime import timedelta

    from app.accounts import service as accounts
    from app.core.clock import utcnow
    from app.core.settings import Settings

    user = make_user(session)
    mail = accounts.request_password_reset(
        session, user.email, now=utcnow() - timedelta(hours=2), settings=Settings()
    )
    session.commit()
    link = re.search(r"(/reset/\S+)", mail.body).group(1)
    assert client.get(link).status_code == 400
