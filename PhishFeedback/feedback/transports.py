"""Which way out a job's messages take: the one its settings name (the `delivery` item chose them), imported only by
the jobs that use it.

Microsoft Graph and the Gmail API load requests (and Gmail a signing library): a job sending over
SMTP, the default, must not pay for them; nor a job through them for smtplib and the SMTP session.
"""

from __future__ import annotations

from feedback.settings import Settings
from feedback.way_out import Transport


def transport_for(settings: Settings, deadline: float) -> Transport:
    """The job's transport, from its settings; nothing is contacted before its first channel or check.

    Each way out's settings shape names its transport's class (`transport`, a dotted path), so that a new way out
    needs no branch here.
    """
    way_out = settings.way_out
    module, name = way_out.transport.rsplit(".", 1)
    transport = getattr(__import__(module, fromlist=[name]), name)
    return transport(way_out, settings.message.sender_address, deadline)
