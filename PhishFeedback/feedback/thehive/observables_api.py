"""TheHive's API for a job: a case's or an alert's observables, paged, on TheHive 3, 4 and 5, within the job's share
of time and bytes (feedback/pacing.py THEHIVE_SHARE). Loaded only by jobs that have thehive_url
(feedback/thehive/observables.py decides when), with the HTTP client under it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import quote

from feedback.alarm import BudgetSpent, Clock
from feedback.bounded_json import LARGEST, parsed
from feedback.case import Observable, read_observables
from feedback.errors import PhishFeedbackError
from feedback.http_failures import TRUST_ADVICE
from feedback.pacing import THEHIVE_SHARE, TIME_BUDGET_SHARE
from feedback.thehive.api import Advice, send, thehive_session
from feedback.thehive.settings import TheHiveSettings

PAGE = 100
# Observables read from one case at most: a TheHive that ignores the page range would be asked for ever.
MOST_OBSERVABLES = 10_000
V1_QUERY = "/api/v1/query?name={kind}-observables"
V1_GETTER = {"case": "getCase", "alert": "getAlert"}
LEGACY_CASE_SEARCH = "/api/case/artifact/_search?range=all"
# TheHive 3 and 4 have no search for an alert's artifacts; the alert itself comes with them.
LEGACY_ALERT = "/api/alert/{id}"
TYPE_CHECKING = False  # without importing typing (docs/performance.md)
if TYPE_CHECKING:
    from typing import TypeVar

    from feedback.api_session import ClientSession

    T = TypeVar("T")


class TheHiveError(PhishFeedbackError):
    """TheHive could not give the observables; the message names the URL and what to check."""


JOB_ADVICE = Advice(
    error=TheHiveError,
    tls=TRUST_ADVICE,
    reach="Check thehive_url, that Cortex can reach TheHive, and Cortex's proxy settings.",
    key="Check thehive_apikey, that its user may read the case or alert, and thehive_organisation.",
    url="Check that thehive_url points at TheHive.",
)


class TheHiveShare:
    """TheHive as one job asks it: its settings, and what is left of its share of the job for all its reads (the
    observables, then the merged alerts), so that a second read cannot take a share of its own: a third of the time
    left when it is first asked (feedback/pacing.py THEHIVE_SHARE), spent only while TheHive is asked, and 16 MB
    of answers."""

    def __init__(self, settings: TheHiveSettings, seconds: float) -> None:
        self.settings, self.seconds, self.room = settings, seconds, LARGEST


def fetch_observables(share: TheHiveShare, kind: str, object_id: str) -> list[Observable]:
    """The observables, read under the job's clock (feedback/alarm.py), which cuts the reading at TheHive's share.

    A timeout bounds each read only: a TheHive that trickles a byte at a time, or retries that add
    up, could hold the job until Cortex kills it.
    """
    return within_share(share, lambda api: api.observables(kind, object_id))


def within_share(share: TheHiveShare, read: Callable[[Api], T]) -> T:
    """What `read` gets through the API, over one session whose sockets the job's clock shuts when TheHive's share
    of the job's time is over."""
    settings, started = share.settings, time.monotonic()
    allowed = max(0.0, share.seconds)
    clock = Clock(started + allowed)
    try:
        with clock:
            # The queries only read, POST included: each is retried on a server error.
            with thehive_session(settings, settings.reach.context(), retried=None, clock=clock) as session:
                return read(Api(session, share, started + allowed))
    except (TheHiveError, BudgetSpent):
        if not clock.out():
            raise
    finally:
        share.seconds -= time.monotonic() - started
    raise TheHiveError(
        f"TheHive at {settings.url} gave no complete answer within {allowed:.0f} s, the share of the job's time"
        f" it is allowed ({THEHIVE_SHARE:.0%} of what was left of {TIME_BUDGET_SHARE:.0%} of Cortex's jobTimeout)."
        " Check that TheHive is up and answers quickly; a larger jobTimeout gives it more time."
    )


class Declined(TheHiveError):
    """TheHive could not read the call (400: a query step it does not have, say): another of its routes may answer."""


class Absent(Exception):
    """The endpoint does not exist on this TheHive (404/405): an older version may have the other one."""


class Api:
    """One session's calls to TheHive, within the job's share of time and bytes."""

    def __init__(self, session: ClientSession, share: TheHiveShare, until: float) -> None:
        self.session, self.share, self.settings, self.until = session, share, share.settings, until
        self.where = f"TheHive at {self.settings.url}"

    def observables(self, kind: str, object_id: str) -> list[Observable]:
        return self.either(lambda: self.v1(kind, object_id), lambda: self.legacy(kind, object_id))

    def either(self, v1: Callable[[], T], legacy: Callable[[], T]) -> T:
        """What `v1` reads through the v1 query API or, as thehive_api says, what `legacy` reads where TheHive has
        no such query."""
        if self.settings.api == "legacy":
            return legacy()
        try:
            return v1()
        except Absent as absent:
            if self.settings.api == "v1":
                raise TheHiveError(absent.args[0]) from None
        return legacy()

    def v1(self, kind: str, object_id: str) -> list[Observable]:
        query = [{"_name": V1_GETTER[kind], "idOrName": object_id}, {"_name": "observables"}]
        pages = self.queried(V1_QUERY.format(kind=kind), query)
        return read_observables(self.paged(pages, MOST_OBSERVABLES, "observables"))

    def queried(self, path: str, query: list[dict]) -> Callable[[int, int], object]:
        """The pages of a v1 query, each from its first item to before its last, for `paged`."""
        return lambda start, end: self.call(
            "POST", path, {"query": [*query, {"_name": "page", "from": start, "to": end}]}
        )

    def paged(self, page: Callable[[int, int], object], most: int, what: str, *, until_empty: bool = False) -> list:
        """Every item TheHive lists, a `page` at a time, up to `most` of them: to a page shorter than asked, or, where
        TheHive may give fewer than asked (`until_empty`), to an empty one. A first page longer than asked is the
        whole list: TheHive ignores the page range."""
        items: list = []
        while True:
            answer = self.listed(page(len(items), len(items) + PAGE), what)
            whole = not items and len(answer) > PAGE
            items += answer
            if len(items) > most:
                raise TheHiveError(
                    f"{self.where} sent more than {most:,} {what}, the most the responder reads"
                    " of one case (or it ignores the page range it was asked for). Check TheHive's version and"
                    " thehive_api."
                )
            if whole or (not answer if until_empty else len(answer) < PAGE):
                return items

    def legacy(self, kind: str, object_id: str) -> list[Observable]:
        try:
            if kind == "alert":
                alert = self.call("GET", LEGACY_ALERT.format(id=quote(object_id, safe="")), None)
                artifacts = alert.get("artifacts") if isinstance(alert, dict) else None
                return read_observables(self.listed(artifacts, "observables"))
            query = {"query": {"_parent": {"_type": "case", "_query": {"_id": object_id}}}}
            return read_observables(self.listed(self.call("POST", LEGACY_CASE_SEARCH, query), "observables"))
        except Absent as absent:
            raise TheHiveError(absent.args[0]) from None

    def listed(self, answer: object, what: str) -> list:
        if not isinstance(answer, list):
            raise TheHiveError(
                f"{self.where} did not answer with a list of {what}. Check that thehive_url points at TheHive."
            )
        return answer

    def call(self, method: str, path: str, body: dict | None) -> object:
        timeout = min(self.settings.reach.timeout, self.until - time.monotonic())
        if timeout <= 0:
            raise BudgetSpent("TheHive's share of the job's time ran out")  # reported by fetch_observables
        url = self.settings.url + path
        status, answer = send(
            self.session, method, url, body, timeout, self.where, JOB_ADVICE, self.share.room, self._counted
        )
        if status in (400, 404, 405):
            raise (Declined if status == 400 else Absent)(
                f"{self.where} answered HTTP {status} to {path.split('?')[0]}. Check thehive_url and thehive_api."
            )
        if status != 200:
            raise TheHiveError(
                f"{self.where} answered HTTP {status}. Check that TheHive is up, then run the responder again."
            )
        return answer

    def _counted(self, body: bytes) -> object:
        """The client's bounded decoding, the body's bytes taken from what the job may still read from TheHive."""
        self.share.room -= len(body)
        return parsed(body)
