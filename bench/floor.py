#!/usr/bin/env python3
"""The floor: a bare script that builds the same kind of message and sends it with smtplib, nothing else.

It does the security work the responder must do too: a verified certificate (it trusts only the CA
file it is given, which is what a lazily read system store costs: nothing until a certificate is
looked up), STARTTLS and a login; and it builds the same MIME shape (text and HTML alternatives,
Date, Message-ID).

Usage: floor.py HOST PORT CAFILE USER PASSWORD COUNT one-session|per-message
"""

import smtplib
import socket
import ssl
import sys
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

# Bodies of the size the responder sends (about 0.8 kB of text and 3 kB of HTML).
TEXT = "Thank you for reporting this message. It was spam, not a phishing attempt.\n" * 10
HTML = '<p style="margin:0 0 16px 0">Thank you for reporting this message. It was spam.</p>\n' * 40


def message(recipient: str) -> EmailMessage:
    mail = EmailMessage()
    mail["Subject"] = "Phishing report feedback"
    mail["From"] = "soc@example.org"
    mail["To"] = recipient
    mail["Date"] = format_datetime(datetime.now(timezone.utc))
    mail["Message-ID"] = make_msgid(domain="example.org")
    mail.set_content(TEXT, cte="quoted-printable")
    mail.add_alternative(HTML, subtype="html", cte="quoted-printable")
    return mail


def session(host: str, port: int, context: ssl.SSLContext, user: str, password: str) -> smtplib.SMTP:
    connection = smtplib.SMTP(host, port, socket.gethostname(), timeout=30)
    connection.starttls(context=context)
    connection.login(user, password)
    return connection


def main() -> None:
    host, port, cafile, user, password, count, mode = sys.argv[1:8]
    context = ssl.create_default_context(cafile=cafile)
    recipients = [f"reporter{i}@example.org" for i in range(int(count))]
    if mode == "one-session":
        connection = session(host, int(port), context, user, password)
        for recipient in recipients:
            connection.send_message(message(recipient), "soc@example.org", [recipient])
        connection.quit()
    else:
        for recipient in recipients:
            connection = session(host, int(port), context, user, password)
            connection.send_message(message(recipient), "soc@example.org", [recipient])
            connection.quit()


if __name__ == "__main__":
    main()
