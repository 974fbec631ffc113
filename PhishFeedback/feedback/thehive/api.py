"""TheHive's API as the responder and thehive_setup.py speak it: the key, the organisation, one call's answer.

The session and the call are the responder's one HTTP client (feedback/api_session.py), imported on
first use, so that a job that never asks TheHive does not pay for it.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable

from feedback.bounded_json import LARGEST
from feedback.shapes import shape
from feedback.thehive.settings import TheHiveSettings

# Without importing typing, which a plain job never needs (docs/performance.md).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from feedback.alarm import Clock
    from feedback.api_session import ClientSession


@shape
class Advice:
    """What to check when TheHive cannot be asked, worded for whoever made the call: a job, or an admin's script."""

    error: type
    tls: str  # what to do when TheHive's certificate could not be verified
    reach: str  # what to check when TheHive could not be reached, or gave no whole answer
    key: str  # what to do when TheHive refused the key
    url: str  # what to check when what answered is not TheHive (no JSON, or too much of it)


def thehive_session(
    settings: TheHiveSettings, context: ssl.SSLContext, retried: frozenset[str] | None, clock: Clock | None = None
) -> ClientSession:
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
    session: ClientSession,
    method: str,
    url: str,
    body: dict | None,
    timeout: float,
    where: str,
    advice: Advice,
    room: int = LARGEST,
    decoded: Callable[[bytes], object] | bool = True,
) -> tuple[int, object]:
    """TheHive's status and JSON answer for one call (None for an empty body, or one that is no JSON beside a status
    that is no success); an unreachable or untrusted TheHive, or a refused key, as advice.error.

    The body is read no further than `room` bytes (feedback/api_session.py counts them as they inflate) and
    decoded by the client (with `decoded`, where the caller has its own decoder), and a redirect is not
    followed: the API key goes to thehive_url alone.
    """
    from feedback.http_exchange import exchange
    from feedback.http_failures import HttpFailure, Malformed, Redirected, TooLarge, Untrusted

    # Each failure keeps its cause: the set-up command tells a change that may have been made from one never sent,
    # and the statistics ask a page too large again, half as long.
    try:
        status, _, answer = exchange(session, method, url, room, timeout, json=body, decoded=decoded)
    except Malformed as failure:
        if 200 <= failure.status < 300:
            raise advice.error(failure.sentence(where, advice.url)) from failure
        status, answer = failure.status, None  # the status tells what went wrong
    except Untrusted as failure:
        raise advice.error(failure.sentence(where, advice.tls)) from failure
    except TooLarge as failure:  # said of all the job reads from TheHive, whatever was left of it for this call
        raise advice.error(TooLarge(failure.status, failure.headers, LARGEST).sentence(where, advice.url)) from failure
    except Redirected as failure:
        raise advice.error(failure.sentence(where, f"The API key goes to no other URL. {advice.reach}")) from failure
    except HttpFailure as failure:
        raise advice.error(failure.sentence(where, advice.reach)) from failure
    if status in (401, 403):
        raise advice.error(f"{where} refused the API key (HTTP {status}). {advice.key}")
    return status, answer
