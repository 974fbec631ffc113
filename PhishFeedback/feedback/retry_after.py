"""How long a mail API asks the job to wait, read once for Microsoft Graph and the Gmail API alike.

HTTP's Retry-After is a number of seconds or a date (RFC 9110 §10.2.3); Google also writes the
time in its message's words. Whatever the service writes there, the job gets a wait it can use or
none: a number beyond any job's length is cut to a day (past the time budget, the delivery policy
stops or gives up waiting), and what cannot be read counts as no wait given, so that the policy's
own back-off applies. It never raises.
"""

from __future__ import annotations

from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

# Longer than any job may run (Cortex's jobTimeout is at most a day): a wait past it is as good as "not today".
LONGEST_WAIT = 24 * 3600.0
# A seconds value is a handful of digits; anything longer is cut before it is read.
LONGEST_VALUE = 64


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After in seconds, from 0 to LONGEST_WAIT; None when absent or unreadable (the policy's back-off)."""
    text = (value or "").strip()[:LONGEST_VALUE]
    if not text:
        return None
    if text.isascii() and text.isdigit():
        return min(float(int(text)), LONGEST_WAIT)
    try:
        return wait_until(parsedate_to_datetime(text), now)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def wait_until(when: datetime, now: datetime | None = None) -> float:
    """Seconds from now until `when`, from 0 to LONGEST_WAIT; a time without a zone is UTC, as HTTP's dates are."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    return min(max(seconds, 0.0), LONGEST_WAIT)
