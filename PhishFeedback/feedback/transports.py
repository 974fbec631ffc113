"""Which way out a job's messages take: the one its settings chose (the `delivery` item), imported only by the jobs
that use it.

Microsoft Graph and the Gmail API load requests (and Gmail a signing library): a job sending over
SMTP, the default, must not pay for them; nor a job through them for smtplib and the SMTP session.
"""

from __future__ import annotations

from feedback.microsoft.settings import GraphSettings
from feedback.settings import Settings
from feedback.smtp.settings import SmtpSettings
from feedback.way_out import Transport


def transport_for(settings: Settings, deadline: float) -> Transport:
    """The job's transport, from its settings; nothing is contacted before its first channel or check."""
    way_out = settings.way_out
    if isinstance(way_out, SmtpSettings):
        from feedback.smtp.transport import SmtpTransport as chosen
    elif isinstance(way_out, GraphSettings):
        from feedback.microsoft.graph import GraphTransport as chosen
    else:  # the ways out whose settings a SMTP job never loads (settings.WAYS_OUT): each imported here, in turn
        from feedback.google.settings import GmailSettings

        if isinstance(way_out, GmailSettings):
            from feedback.google.gmail import GmailTransport as chosen
        else:  # a way out added to settings.WAYS_OUT, and not here (tests/test_ways_out.py)
            raise TypeError(f"No transport takes {type(way_out).__name__}: add its branch to transport_for.")
    return chosen(way_out, settings.message.sender_address, deadline)
