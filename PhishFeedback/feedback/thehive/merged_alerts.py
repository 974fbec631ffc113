"""The reports merged into a case: each alert's Message-ID and its reporters, from TheHive 5's and 4.1's v1 API.

TheHive 5's mail intake stores the received mail's Message-ID as the alert's `sourceRef`; once the
alert is merged into a case, the case's job no longer carries it, so it is read back here with the
session, time share and size bound of the observables (feedback/thehive/observables_api.py). An alert
names its reporter as a case does (feedback/plan.py): its `user_email:` tags, else its mail
observables tagged `reporter_tag`, read only for the alerts whose `sourceRef` is a Message-ID.
"""

from __future__ import annotations

from feedback.message_ids import message_id
from feedback.plan import reporter_values
from feedback.shapes import shape
from feedback.shown_text import printable
from feedback.thehive.observables_api import Absent, Api, TheHiveShare, within_share

CASE_ALERTS = "/api/v1/query?name=case-alerts"
# Alerts read from one case at most: a campaign merges hundreds.
MOST_ALERTS = 5_000


@shape
class MergedReport:
    message_id: str  # checked by feedback/message_ids.py
    reporters: tuple[str, ...]  # as the alert names them, not yet checked


def merged_reports(share: TheHiveShare, case_id: str, reporter_tag: str) -> list[MergedReport]:
    """The case's merged alerts that hold a Message-ID, with their reporters; none from a TheHive without v1."""
    if share.settings.api == "legacy":
        return []
    return within_share(share, lambda api: _read(api, case_id, reporter_tag))


def _read(api: Api, case_id: str, reporter_tag: str) -> list[MergedReport]:
    query = [{"_name": "getCase", "idOrName": case_id}, {"_name": "alerts"}]
    try:
        alerts = api.paged(api.queried(CASE_ALERTS, query), MOST_ALERTS, "alerts")
    except Absent:
        return []
    reports = []
    for alert in alerts:
        parent = message_id(alert.get("sourceRef")) if isinstance(alert, dict) else None
        if parent is None:
            continue
        tags = alert.get("tags")
        reporters = reporter_values(
            tuple(t for t in tags if isinstance(t, str)) if isinstance(tags, list) else (), [], reporter_tag
        )
        alert_id = alert.get("_id")
        if not reporters and isinstance(alert_id, str):
            reporters = reporter_values((), api.observables("alert", alert_id), reporter_tag)
        reports.append(MergedReport(parent, tuple(printable(r) for r in reporters)))
    return reports
