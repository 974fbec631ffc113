"""Whether a job reads its report's observables from TheHive, and what it makes of TheHive's failure.

A case job does not carry its observables, and TheHive 4 and 5 send an alert's `artifacts` empty
(docs/cortex-and-thehive.md §4), yet mail-collection pipelines put the reporter and the reported
message there. Only a job with thehive_url loads the API (feedback/thehive/observables_api.py) and the
HTTP client under it.
"""

from __future__ import annotations

import time

from feedback.case import CaseError, Observable, Report
from feedback.pacing import THEHIVE_SHARE, cutoff
from feedback.plan import REPORTER_NAMESPACE
from feedback.shapes import shape
from feedback.tags import tag_values
from feedback.thehive.settings import TheHiveSettings

TYPE_CHECKING = False  # without importing typing (docs/performance.md)
if TYPE_CHECKING:
    from feedback.thehive.observables_api import TheHiveShare


@shape
class Observed:
    observables: list[Observable]
    warnings: list[str]
    # The TheHive the job may ask again (for a case's merged alerts), within what is left of its share: None where
    # none is set, or it failed here.
    thehive: TheHiveShare | None


def observables_for(report: Report, settings: TheHiveSettings | None, deadline: float) -> Observed:
    """The report's observables and any warning; TheHive's failure only matters when the tags name no reporter."""
    if report.artifacts:  # TheHive 3 sends an alert's observables with the job; an alert has no merged alerts
        return Observed(list(report.artifacts), [], None)
    tagged = tag_values(report.tags, REPORTER_NAMESPACE)
    if settings is None:
        if report.kind == "alert" and not tagged:
            raise CaseError(
                f"No reporter to answer: the alert has no '{REPORTER_NAMESPACE}:<address>' tag, and TheHive 4 and 5"
                " do not send an alert's observables with the job. Ask the Cortex admin to set thehive_url and"
                " thehive_apikey, so that the responder reads them from TheHive, or tag the alert"
                f" '{REPORTER_NAMESPACE}:<address>'."
            )
        return Observed([], [], None)
    from feedback.thehive.observables_api import TheHiveError, TheHiveShare, fetch_observables

    share = TheHiveShare(settings, cutoff(deadline, time.monotonic(), THEHIVE_SHARE) - time.monotonic())
    try:
        observables = fetch_observables(share, report.kind, report.id)
    except TheHiveError as failure:
        if not tagged:
            raise
        return Observed([], [f"{failure} The reporters were taken from the {report.kind}'s tags only."], None)
    return Observed(observables, [], share)
