"""A message the loopback SMTP server accepted, and how a reporter's mail reader shows it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage


def text_and_html(message: EmailMessage) -> tuple[str, str]:
    """The plain text and the HTML of a message, as a reporter's mail reader shows them (line ends as '\\n')."""
    text, html = (message.get_body((kind,)).get_content().replace("\r\n", "\n") for kind in ("plain", "html"))
    return text, html


@dataclass
class Delivered:
    mail_from: str
    rcpt_tos: list[str]
    login: str | None
    content: bytes
    arrived: float = field(default_factory=time.monotonic)

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.content, policy=policy.default)

    def shown(self) -> str:
        """The message as a person reads it in a terminal: who, the headers, the plain text, the HTML's size."""
        message = self.message
        html = message.get_body(("html",))
        return "".join(
            [
                f"== Delivered to {', '.join(self.rcpt_tos)} (login {self.login}), {len(self.content)} bytes\n",
                *(f"{name}: {value}\n" for name, value in message.items()),
                "\n" + message.get_body(("plain",)).get_content().replace("\r\n", "\n") + "\n",
                f"== and its HTML alternative ({len(html.get_content()) if html else 0} characters)\n",
            ]
        )
