"""The letterhead of a message with a logo: the logo, the organisation's name and address on top, a footer below.

A logo makes the message the organisation's own. It also makes SpamAssassin read the HTML as
image spam when the page around it is short (HTML_IMAGE_ONLY_*, up to 2.8 points below 3,200
characters): the name and address beside the logo and the footer that says why the reporter got
the message are text a reader wants there, and keep every shipped message past that length.
"""

from __future__ import annotations

import html
from email.utils import make_msgid

from feedback.logo import Logo
from feedback.message_settings import MessageSettings
from feedback.shapes import shape
from feedback.templates import footer_text, letterhead_templates


@shape
class Letterhead:
    logo: Logo | None
    # The logo part's Content-ID, without its angle brackets.
    cid: str
    top: str
    bottom: str


def letterhead(settings: MessageSettings, languages: list[str]) -> Letterhead:
    """The rows the page starts and ends with; none without a logo."""
    if settings.logo is None:
        return Letterhead(None, "", "", "")
    domain = settings.sender_address.rpartition("@")[2]
    cid = make_msgid("logo", domain=domain)[1:-1]
    contact = settings.reply_to[1] if settings.reply_to else settings.sender_address
    top, bottom = letterhead_templates()
    values = {
        "cid": html.escape(cid),
        "name": html.escape(" ".join(settings.sender_name.split()) or domain),
        "contact": html.escape(contact),
        "width": settings.logo.width,
        "height": settings.logo.height,
    }
    footers = "<br>\n".join(f'<span lang="{lang}">{html.escape(footer_text(lang))}</span>' for lang in languages)
    return Letterhead(settings.logo, cid, top.format_map(values), bottom.format_map({**values, "footer": footers}))
