"""The calls thehive_setup.py makes to TheHive, each failure one sentence that says what to check.

The session is the responder's own (feedback/thehive/api.py): the same headers and the same
trust. Only reads are retried on a server error, so that a create is never sent twice. A TheHive
that trickles its answer a byte at a time never trips a timeout per read, so the whole command
has one time limit, kept by the session's clock (feedback/alarm.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from feedback.alarm import Clock, timeout_within
from feedback.errors import CommandError, not_installed
from feedback.http_failures import HttpFailure, Malformed, Refused, TimedOut, Untrusted
from feedback.items import ConfigError
from feedback.redaction import scrub, shortened
from feedback.shown_text import escaped
from feedback.thehive.api import Advice, send, thehive_session
from feedback.thehive.field_setup import edition
from feedback.thehive.settings import TheHiveSettings
from feedback.trust import CacertsError

STATUS = "/api/v1/status"
# TheHive's own explanation of a refusal is shown, cut to this length.
SHOWN = 300

# A server error names no fix of the command's: what answered is failing, or is not TheHive's API at that path.
FAILING = (
    "TheHive, or a proxy in front of it, is failing there: check that --url is TheHive's own address (its path"
    " included) and TheHive's log, then run the command again."
)


ADVICE = Advice(
    error=CommandError,
    tls="Its certificate is not trusted or does not name that host: give its CA with --cacerts FILE (PEM), and check"
    " that --url names the host the certificate covers.",
    reach="Check --url, and that this machine reaches TheHive (HTTPS_PROXY if it needs a proxy).",
    url="Check that --url points at TheHive.",
    key="Put in THEHIVE_APIKEY the key of a user who may manage custom fields (an admin of TheHive's admin"
    " organisation), and give --organisation when that user has several.",
)


class AdminApi:
    """TheHive's API for `limit` seconds in all (--time-limit, as the sentences say it), from now or until the
    command's `deadline` where an earlier step took some; used as a `with` block, whose clock keeps it."""

    # What to check when a call fails, worded for the script that makes it (thehive_stats.py has its own).
    advice = ADVICE
    # How the client decodes an answer within the bounds: its own decoder (True), or thehive_stats.py's faster one.
    parse: bool | Callable[[bytes], object] = True
    # The methods that only read, and so are asked again after a server error; what a call cut short leaves.
    reading = frozenset({"GET"})
    unfinished = {
        "read": "Nothing was changed.",
        "write": "The change may have been made: run the command again to see.",
    }

    def __init__(self, settings: TheHiveSettings, limit: float, deadline: float | None = None) -> None:
        try:
            context = settings.reach.context()
        except CacertsError:
            raise CommandError("The file given with --cacerts holds no valid PEM certificate.") from None
        except ConfigError as unusable:  # the system's store, or SSL_CERT_FILE
            raise CommandError(str(unusable)) from None
        self.settings, self.limit = settings, limit
        self.clock = Clock(time.monotonic() + limit if deadline is None else deadline)
        try:
            self.session = thehive_session(settings, context, retried=self.reading, clock=self.clock)
        except ImportError:  # said before any call
            raise CommandError(not_installed("requests")) from None

    def __enter__(self) -> AdminApi:
        self.clock.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.clock.__exit__(*exc)
        self.session.close()

    def edition(self) -> int:
        """4 or 5, as TheHive's status says; where it has no status page (TheHive 3, another path), a sentence."""
        missing = (
            "no TheHive 4 or 5 answers there (TheHive 3 has no such page, and these commands do not speak its API)."
            " Check that --url points at TheHive 4 or 5."
        )
        return edition(self.call("GET", STATUS, missing=missing))

    def call(
        self,
        method: str,
        path: str,
        body: dict | None = None,
        parse: Callable[[bytes], object] | None = None,
        missing: str | None = None,
        reads: bool = False,
    ) -> object:
        """TheHive's JSON answer (None for an empty one), or CommandError; `parse`, where given, decodes it instead of
        the class's own (thehive_stats.py keeps only what it reads of a page of cases); `missing`, what a 404 means
        there; `reads`: a call whose method could change TheHive, but that only reads (a search)."""
        settings, where = self.settings, f"TheHive at {self.settings.url}"
        reading = reads or method in self.reading
        if self.clock.out():
            raise self._late(where, True)
        timeout = timeout_within(settings.reach.timeout, self.clock.deadline)
        try:
            status, answer = send(
                self.session,
                method,
                settings.url + path,
                body,
                timeout,
                where,
                self.advice,
                decoded=parse or self.parse,
            )
        except CommandError as failure:
            if self.clock.out():  # the clock cut the connection: said as that, not as an unreachable TheHive
                raise self._late(where, reading) from None
            if reading or not _sent(failure.__cause__):
                raise
            if isinstance(failure.__cause__, Malformed) and 200 <= failure.__cause__.status < 300:
                return None  # done: only the answer saying so is unreadable
            raise CommandError(f"{failure} {self.unfinished['write']}") from None
        if status == 404 and missing:
            raise CommandError(f"{where} answered HTTP 404 to {method} {path}: {missing} {self._left(reading)}")
        if status not in (200, 201, 204):
            # A server error to a change may come after TheHive made it (a proxy's 504 while TheHive works on).
            unfinished = f" {self.unfinished['write']}" if status >= 500 and not reading else ""
            failing = f" {FAILING}" if status >= 500 else ""
            raise CommandError(
                f"{where} answered HTTP {status} to {method} {path}{_explained(answer)}.{failing}{unfinished}"
            )
        return answer

    def _late(self, where: str, reading: bool) -> CommandError:
        return CommandError(
            f"{where} did not finish answering within {self.limit:g} s, the time this command allows itself in all"
            f" (--time-limit). Check TheHive and the way to it, or allow more with --time-limit. {self._left(reading)}"
        )

    def _left(self, reading: bool) -> str:
        """What a call cut short leaves: nothing changed after a read, a change maybe made after a write."""
        return self.unfinished["read" if reading else "write"]


def _sent(cause: BaseException | None) -> bool:
    """Whether the request that failed with this cause may have reached TheHive (None: TheHive refused it)."""
    if not isinstance(cause, HttpFailure) or isinstance(cause, (Untrusted, Refused)):
        return False
    return not isinstance(cause, TimedOut) or cause.sent


def terminal_safe(text: str) -> str:
    """Text from TheHive fit for a terminal (`shown_text.escaped`): a field's options or TheHive's message could
    otherwise move the cursor, recolour or hide what is shown. Scrubbed first: an escape would cut a secret into
    pieces the scrubber does not find."""
    return escaped(scrub(text))


def _explained(answer: object) -> str:
    """TheHive's own message (`{"type": …, "message": …}`), where it gave one."""
    message = answer.get("message") if isinstance(answer, dict) else None
    return f": {shortened(str(message), SHOWN)}" if message else ""
