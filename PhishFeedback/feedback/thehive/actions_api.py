"""The responder actions TheHive lists on a case or an alert: which jobs ran on it, whether each ended, and what
each asked TheHive to tag, for a job that cannot see the others on its host (feedback/concurrent_jobs.py).

TheHive keeps an action for every click, with the Cortex job's id, from once Cortex has taken the job, and marks it
ended, with its operations applied, once it has polled the job's report (docs/cortex-and-thehive.md §5b). Read with
the session, time share and size bound of the observables (feedback/thehive/observables_api.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import quote

from feedback.shapes import shape
from feedback.tags import TAG_OPERATION
from feedback.thehive.observables_api import (
    V1_GETTER,
    Absent,
    Api,
    Declined,
    TheHiveError,
    TheHiveShare,
    within_share,
)

V1_ACTIONS = "/api/v1/query?name={kind}-actions"
# TheHive 5.8's list (the case's and its tasks' and observables'), a page at a time: at most 300 a page.
EXECUTIONS = "/api/v1/responder-execution/{kind}/{id}?pageFrom={start}&pageTo={end}"
# TheHive 5.6's list, whole.
V1_CONNECTOR = "/api/v1/connector/cortex/action/{kind}/{id}"
# TheHive 3.5 lists ten without range=all; TheHive 4 reads no such parameter.
LEGACY_ACTIONS = "/api/connector/cortex/action/{kind}/{id}?range=all"
# Actions read from one case at most: each click makes one, and nobody clicks thousands of times.
MOST_ACTIONS = 10_000
ACTIONS = "responder actions"
# What TheHive marks an action once the job's report is in (TheHive 4 never stores InProgress).
ENDED = frozenset({"Success", "Failure", "Deleted"})
# The dates read, in milliseconds: up to the end of year 9999, past which no clock reads a time.
LATEST = 253_402_300_800_000


@shape
class Action:
    job: str  # Cortex's job id
    responder: str  # the responder's id in the Cortex that ran the job
    # The responder's definition (Phish_Feedback_1_0): the same for its jobs on every Cortex TheHive asks, and
    # another for the acknowledgement; '' where TheHive names none.
    definition: str
    ended: bool
    started: float  # when TheHive made it, on TheHive's clock, in seconds
    finished: float  # when TheHive marked it ended, on TheHive's clock; `started` while it runs
    tags: tuple[str, ...]  # what its report asked TheHive to tag


def list_actions(share: TheHiveShare, kind: str, object_id: str, job: str, first: int = 0) -> tuple[list[Action], int]:
    """The actions on the case or alert, and which of ROUTES listed them: the first of those thehive_api allows,
    from `first` on (the one that listed this job before), where TheHive has it and lists this job's action."""
    return within_share(share, lambda api: _listed(api, kind, object_id, job, first))


def _listed(api: Api, kind: str, object_id: str, job: str, first: int) -> tuple[list[Action], int]:
    """Where a route is absent (404), TheHive cannot read the call (400: no such query step), or it lists the actions
    without this job's (a TheHive that keeps its newer runs in another list), the next is asked; a TheHive that fails
    otherwise (a server error, no answer, a refused key) fails them all. Where no route lists this job, the first
    answer stands, with `first` unchanged; where none answers, the failures are told that say more than that a route
    is absent, and the last, each once."""
    chosen = api.settings.api
    routes = [(at, read) for at, (version, read) in enumerate(ROUTES) if at >= first and chosen in (version, "auto")]
    told: dict[str, None] = {}
    answered = None
    for at, read in routes:
        try:
            actions = read_actions(read(api, kind, object_id), kind)
        except (Absent, Declined) as failure:
            if not isinstance(failure, Absent) or at == routes[-1][0]:
                told[failure.args[0]] = None
            continue
        if any(action.job == job for action in actions):
            return actions, at
        answered = answered or (actions, first)
    if answered:
        return answered
    raise TheHiveError(" ".join(told))


def _queried(api: Api, kind: str, object_id: str) -> list:
    query = [{"_name": V1_GETTER[kind], "idOrName": object_id}, {"_name": "actions"}]
    return api.paged(api.queried(V1_ACTIONS.format(kind=kind), query), MOST_ACTIONS, ACTIONS)


def _executions(api: Api, kind: str, object_id: str) -> list:
    def page(start: int, end: int) -> object:
        return api.call("GET", EXECUTIONS.format(kind=kind, id=quote(object_id, safe=""), start=start, end=end), None)

    # TheHive 5.8 documents 30 a page where none is asked: one that gives fewer than asked has not ended its list.
    return api.paged(page, MOST_ACTIONS, ACTIONS, until_empty=True)


def _whole(path: str) -> Callable[[Api, str, str], list]:
    """A list TheHive gives whole, at `path`."""

    def read(api: Api, kind: str, object_id: str) -> list:
        return api.listed(api.call("GET", path.format(kind=kind, id=quote(object_id, safe="")), None), ACTIONS)

    return read


# Each way TheHive lists the actions, and the thehive_api that allows it: TheHive 4's query (TheHive 5's is not
# documented), TheHive 5.8's and 5.6's lists, and the legacy one (TheHive 3.5 and 4, and TheHive 5 undocumented).
ROUTES = (("v1", _queried), ("v1", _executions), ("v1", _whole(V1_CONNECTOR)), ("legacy", _whole(LEGACY_ACTIONS)))


def read_actions(listed: list, kind: str) -> list[Action]:
    """The actions TheHive describes whole; one without its job, responder, status or start is passed over."""
    actions = []
    for item in listed:
        if not isinstance(item, dict):
            continue
        job, responder, status = item.get("cortexJobId"), item.get("responderId"), item.get("status")
        definition = item.get("responderDefinition")
        started, finished = _seconds(item.get("startDate")), _seconds(item.get("endDate"))
        if isinstance(job, str) and isinstance(responder, str) and isinstance(status, str) and started is not None:
            ended = status in ENDED
            at = finished if ended and finished is not None else started
            if isinstance(definition, dict):  # TheHive 5.8's examples: {"name": "Phish_Feedback_1_2", "version": …}
                definition = definition.get("name")
            named = definition if isinstance(definition, str) else ""
            actions.append(Action(job, responder, named, ended, started, at, _tags(item.get("operations"), kind)))
    return actions


def _seconds(milliseconds: object) -> float | None:
    """A date TheHive gives, in seconds; None for one that is no date (NaN and infinities are not in range)."""
    if isinstance(milliseconds, (int, float)) and not isinstance(milliseconds, bool) and 0 <= milliseconds < LATEST:
        return milliseconds / 1000
    return None


def _tags(operations: object, kind: str) -> tuple[str, ...]:
    """The tags among an action's operations, given as JSON in a string. TheHive 3.5 writes no operation's `type`:
    there an operation that names a tag is one of this responder's, which adds tags to the case or alert alone."""
    if isinstance(operations, str):
        try:
            operations = json.loads(operations)
        except (ValueError, RecursionError):
            return ()
    if not isinstance(operations, list):
        return ()
    adds = TAG_OPERATION[kind]
    return tuple(
        o["tag"]
        for o in operations
        if isinstance(o, dict) and o.get("type", adds) == adds and isinstance(o.get("tag"), str)
    )
