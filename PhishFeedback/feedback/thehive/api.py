"""TheHive's API as the responder and thehive_setup.py speak it: the key, the organisation, one call's answer.

The session and the call are the responder's one HTTP client (feedback/api_session.py), imported on
first use, so that a job that never asks TheHive does not pay for it.
"""

from __future__ import annotations

import ssl

from feedback.bounded_json import LARGEST
from feedback.shapes import shape
from feedback.thehive.settings import TheHiveSettings

# Without importing typing, which a plain job never needs (docs/performance.md).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from feedback.alarm import Clock


@shape
class Advice:
    """What to check when TheHive cannot be asked, worded for whoever made the call: a job, or an admin's script."""

    error: type
    tls: str  # what to do when TheHive's certificate could not be verified
    reach: str
    key: str


def thehive_session(
    settings: TheHiveSettings, context: ssl.SSLContext, retried: frozenset[str] | None, clock: Clock | None = None
):
    """A session that speaks to TheHive as its API wants: the key as a Bearer token, the organisation.

    Certificates are verified against `context` (the system's CAs and Cortex's cacerts); proxies
    come from Cortex's settings, else from the environment (thehive_setup.py's HTTPS_PROXY). A
    server error (5xx) is retried for the methods in `retried`, for all of them when it is None.
    With a `clock`, its deadline cuts every connection (feedback/api_session.py).
    """
    from feedback.api_session import open_session, server_errors_retried

    session = open_session(context, settings.reach.proxies, retry=server_errors_retried(retried), clock=clock)
    session.headers["Authorization"] = f"Bearer {settings.apikey}"
    if settings.organisation:
        session.headers["X-Organisation"] = settings.organisation
    return session


def send(
    session, method: str, url: str, body: dict | None, timeout: float, where: str, advice: Advice, room: int = LARGEST
) -> tuple[int, bytes]:
    """TheHive's status and body for one call; an unreachable or untrusted TheHive, or a refused key, as advice.error.

    The body is read no further than `room` bytes (feedback/api_session.py counts them as they inflate), and
    a redirect is not followed: the API key goes to thehive_url alone.
    """
    from feedback.api_session import exchange
    from feedback.http_failures import HttpFailure, TimedOut, TooLarge, Unreachable, Untrusted

    try:
        status, _, content = exchange(session, method, url, room, timeout, json=body)
    except Untrusted as untrusted:
        raise advice.error(untrusted.sentence(where, advice.tls)) from None
    except TooLarge:  # said of all the job reads from TheHive, whatever was left of it for this call
        raise advice.error(
            f"{where} answered more than {LARGEST >> 20} MB to this job: the responder reads no more than that"
            " from TheHive."
        ) from None
    except TimedOut:
        raise advice.error(f"{where} did not answer within {timeout:.0f} s.") from None
    except HttpFailure as failure:
        kind = failure.kind if isinstance(failure, Unreachable) else type(failure).__name__
        raise advice.error(f"{where} could not be reached ({kind}). {advice.reach}") from None
    if status in (401, 403):
        raise advice.error(f"{where} refused the API key (HTTP {status}). {advice.key}")
    if 300 <= status < 400:
        raise advice.error(
            f"{where} answered with a redirect (HTTP {status}), which the responder does not follow with the API key."
            f" {advice.reach}"
        )
    return status, content
