"""Which way out a job's messages take (the `delivery` item), each imported only by the jobs that use it.

Microsoft Graph and the Gmail API load requests (and Gmail a signing library): a job sending over
SMTP, the default, must not pay for them; nor a job through them for smtplib and the SMTP session.
"""

from __future__ import annotations

from feedback.settings import Settings
from feedback.way_out import Transport


def transport_for(settings: Settings, deadline: float) -> Transport:
    """The job's transport, from its settings; nothing is contacted before its first channel or check."""
    if settings.delivery == "graph":
        from feedback.microsoft.graph import GraphTransport

        return GraphTransport(settings.graph, settings.sender_address, deadline)
    if settings.delivery == "gmail":
        from feedback.google import gmail

        account = settings.gmail
        return gmail.transport(
            account.service_account,
            settings.sender_address,
            account.url,
            account.proxies,
            account.cacerts,
            account.timeout,
            deadline,
        )
    from feedback.smtp.transport import SmtpTransport

    return SmtpTransport(settings.smtp, settings.sender_address, deadline)
