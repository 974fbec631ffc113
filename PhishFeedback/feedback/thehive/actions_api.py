"""The responder actions TheHive lists on a case or an alert: which jobs ran on it, whether each ended, and what
each asked TheHive to tag, for a job that cannot see the others on its host (feedback/concurrent_jobs.py).

TheHive keeps an action for every click, with the Cortex job's id, from once Cortex has taken the job, and marks it
ended, with its operations applied, once it has polled the job's report (docs/cortex-and-thehive.md §5b). Read with
the session, time share and size bound of the observables (feedback/thehive/observables_api.py).
"""

from __future__ import annotations

import json
from urllib.parse import quote

from feedback.shapes import shape
from feedback.tags import TAG_OPERATION
from feedback.thehive.observables_api import V1_GETTER, Absent, Api, TheHiveError, TheHiveShare, within_share

V1_ACTIONS = "/api/v1/query?name={kind}-actions"
# TheHive 3.5 lists ten without range=all; TheHive 4 reads no such parameter.
LEGACY_ACTIONS = "/api/connector/cortex/action/{kind}/{id}?range=all"
# Actions read from one case at most: each click makes one, and nobody clicks thousands of times.
MOST_ACTIONS = 10_000
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


def list_actions(share: TheHiveShare, kind: str, object_id: str) -> list[Action]:
    """The actions on the case or alert, through the v1 query API or the legacy one, as thehive_api says."""
    return within_share(share, lambda api: read_actions(_listed(api, kind, object_id), kind))


def _listed(api: Api, kind: str, object_id: str) -> list:
    query = [{"_name": V1_GETTER[kind], "idOrName": object_id}, {"_name": "actions"}]
    v1 = V1_ACTIONS.format(kind=kind)
    # A TheHive that has no such query (TheHive 5's is not public) may still have the legacy list.
    return api.either(
        lambda: api.paged(v1, query, MOST_ACTIONS, "responder actions"),
        lambda: _legacy(api, kind, object_id),
        (Absent, TheHiveError),
    )


def _legacy(api: Api, kind: str, object_id: str) -> list:
    try:
        listed = api.call("GET", LEGACY_ACTIONS.format(kind=kind, id=quote(object_id, safe="")), None)
    except Absent as absent:
        raise TheHiveError(absent.args[0]) from None
    return api.listed(listed, "responder actions")


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
