"""TheHive's API as the responder and thehive_setup.py speak it: the key, the organisation, one call's answer.

`requests` (and the session, feedback/api_session.py) is imported on first use, so that a job that never
asks TheHive does not pay for it.
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING

from feedback.bounded_json import LARGEST, within
from feedback.shapes import shape
from feedback.thehive.settings import TheHiveSettings

if TYPE_CHECKING:
    from feedback.api_session import Clock


@shape
class Advice:
    """What to check when TheHive cannot be asked, worded for whoever made the call: a job, or an admin's script."""

    error: type
    tls: str
    reach: str
    key: str


def thehive_session(
    settings: TheHiveSettings, context: ssl.SSLContext, retried: frozenset[str] | None, clock: Clock | None = None
):
    """A requests session that speaks to TheHive as its API wants: the key as a Bearer token, the organisation.

    Certificates are verified against `context` (the system's CAs and Cortex's cacerts); proxies
    come from Cortex's settings, else from the environment (thehive_setup.py's HTTPS_PROXY). A
    server error (5xx) is retried for the methods in `retried`, for all of them when it is None.
    With a `clock`, its deadline cuts every connection (feedback/api_session.py).
    """
    from urllib3.util.retry import Retry

    from feedback.api_session import open_session

    # A read that timed out is not sent again: the server is slow, and a second wait would only
    # spend the time delivery needs.
    retry = Retry(
        total=2,
        read=False,
        backoff_factor=0.5,
        status_forcelist=(500, 502, 503, 504),
        allowed_methods=retried,
        raise_on_status=False,
    )
    session = open_session(context, settings.proxies, retry=retry, clock=clock, environment=True)
    session.headers["Authorization"] = f"Bearer {settings.apikey}"
    if settings.organisation:
        session.headers["X-Organisation"] = settings.organisation
    return session


def send(
    session, method: str, url: str, body: dict | None, timeout: float, where: str, advice: Advice, room: int = LARGEST
) -> tuple[int, bytes]:
    """TheHive's status and body for one call; an unreachable or untrusted TheHive, or a refused key, as advice.error.

    The body is read streamed, so that what is read is counted as it inflates (a small gzip answer can
    be a gigabyte), and no further than `room` bytes.
    """
    import requests

    try:
        with session.request(method, url, json=body, timeout=timeout, stream=True) as answer:
            status = answer.status_code
            # 256 KiB a read: a page of the statistics is a megabyte, and each read is a few Python calls deep.
            content, more = within(answer.iter_content(1 << 18), room)
    except requests.exceptions.SSLError:
        raise advice.error(f"{where} could not be reached over verified TLS. {advice.tls}") from None
    except requests.Timeout:
        raise advice.error(f"{where} did not answer within {timeout:.0f} s.") from None
    except requests.RequestException as failure:
        raise advice.error(f"{where} could not be reached ({type(failure).__name__}). {advice.reach}") from None
    if more:  # said of all the job reads from TheHive, whatever was left of it for this call
        raise advice.error(
            f"{where} answered more than {LARGEST >> 20} MB to this job: the responder reads no more than that"
            " from TheHive."
        )
    if status in (401, 403):
        raise advice.error(f"{where} refused the API key (HTTP {status}). {advice.key}")
    return status, content
