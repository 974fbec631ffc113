"""Which way out a job's messages take: the one its settings chose (the `delivery` item), imported only by the jobs
that use it.

Microsoft Graph and the Gmail API load requests (and Gmail a signing library): a job sending over
SMTP, the default, must not pay for them; nor a job through them for smtplib and the SMTP session.
"""

from __future__ import annotations

from feedback.settings import Settings
from feedback.way_out import Transport

# Each way out's settings shape, by its name, and its transport's module and class: named, not imported, so that a
# job imports its own way out alone (tests/test_ways_out.py).
TRANSPORTS = {
    "SmtpSettings": ("feedback.smtp.transport", "SmtpTransport"),
    "GraphSettings": ("feedback.microsoft.graph", "GraphTransport"),
    "GmailSettings": ("feedback.google.gmail", "GmailTransport"),
}


def transport_for(settings: Settings, deadline: float) -> Transport:
    """The job's transport, from its settings; nothing is contacted before its first channel or check."""
    way_out = settings.way_out
    shape_name = type(way_out).__name__
    if shape_name not in TRANSPORTS:  # a way out added to settings.WAYS_OUT, and not here
        raise TypeError(f"No transport takes {shape_name}: add it to transports.TRANSPORTS.")
    module, transport = TRANSPORTS[shape_name]
    chosen = getattr(__import__(module, fromlist=[transport]), transport)  # a plain job does not load importlib
    return chosen(way_out, settings.message.sender_address, deadline)
