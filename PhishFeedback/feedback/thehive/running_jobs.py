"""The jobs on a case before this one, as TheHive lists the case's responder actions, for where no job on the host
can see another: Cortex's docker and Kubernetes runners mount each job folder alone (feedback/concurrent_jobs.py).

TheHive makes an action once Cortex has taken the job, keeps the Cortex job's id in it, and marks it ended once it
has the job's report and has applied its tags (docs/cortex-and-thehive.md §5b). This job finds its own action by its
Cortex job id (feedback/job_identity.py), and with it the responder's definition, which every job of this responder
shares on every Cortex TheHive asks.
"""

from __future__ import annotations

import time
from functools import cached_property

from feedback.case import Report
from feedback.concurrent_jobs import Others, Unlisted
from feedback.pacing import THEHIVE_SHARE, TIME_BUDGET_SHARE, cutoff
from feedback.tags import ACKNOWLEDGED, ACKNOWLEDGED_AT, NOTIFIED, TOLD, UNSURE
from feedback.thehive.settings import TheHiveSettings

TYPE_CHECKING = False  # without importing typing (docs/performance.md)
if TYPE_CHECKING:
    from feedback.thehive.actions_api import Action

# The tags by which no run mails a reporter again: those a job writes beside the others on one host as it goes.
RECORDS = frozenset({NOTIFIED, TOLD, ACKNOWLEDGED, ACKNOWLEDGED_AT, UNSURE})
# How long a job looks for its own action: TheHive makes it once Cortex has answered, and Cortex starts the job first.
OWN_ACTION_WAIT = 10.0
OWN_ACTION_POLL = 0.5
# An action TheHive still shows running this long after Cortex must have ended its job (jobTimeout, and TheHive's
# polling) is one TheHive stopped following (a restart): no job waits for it.
FORGOTTEN_AFTER = 60.0
UNLISTED = (
    "This job could not learn from TheHive which Phish_Feedback jobs came before it on this {kind}, so a second click"
    " while a job sends would mail the reporters again: {reason}"
)
UNFOUND = (
    "TheHive at {url} did not list this job (Cortex job {job}) among the {kind}'s responder actions within"
    " {wait:.0f} s."
)
NAMELESS = (
    "This job could not tell which Phish_Feedback jobs came before it on this {kind}, so a second click while a job"
    " sends would mail the reporters again: it found no Cortex job id in the name of its folder, {folder}, nor in"
    " CORTEX_JOB_FOLDER, nor in the mount table. A job Cortex runs has one; a job run by hand has none."
)
UNTOLD = (
    " So this job could not tell which Phish_Feedback jobs came before it, and a second click while a job sends would"
    " mail the reporters again. Check that thehive_url is the TheHive that started this job."
)


class ListedJobs:
    """Which jobs came before this one on a case, and what those that ended recorded, as TheHive lists them."""

    def __init__(self, settings: TheHiveSettings, job_timeout: float) -> None:
        self.settings, self.job_timeout = settings, job_timeout
        self.route = 0  # the way TheHive listed this job's action (feedback/thehive/actions_api.py ROUTES)

    @cached_property
    def job(self) -> str | None:
        """This job's Cortex job id, None where none was found: looked up by a job that lists the others alone (a
        process runner's job whose host shows them never does)."""
        from feedback.job_identity import cortex_job_id

        return cortex_job_id()

    def __call__(self, report: Report, deadline: float) -> Others:
        """Each listing within TheHive's share of the job's time left (feedback/pacing.py THEHIVE_SHARE)."""
        if self.job is None:
            from feedback.job_folder import path

            raise Unlisted(NAMELESS.format(kind=report.kind, folder=path()), "")
        started = time.monotonic()
        while (own := self._own(report, deadline)) is None:
            if time.monotonic() - started >= OWN_ACTION_WAIT:
                why = UNFOUND.format(url=self.settings.url, job=self.job, kind=report.kind, wait=OWN_ACTION_WAIT)
                raise Unlisted(why + UNTOLD, why)
            time.sleep(OWN_ACTION_POLL)
        actions, mine = own
        return others(actions, mine, self.job_timeout, time.time())

    def _own(self, report: Report, deadline: float) -> tuple[list[Action], Action] | None:
        from feedback.thehive.actions_api import list_actions
        from feedback.thehive.observables_api import TheHiveError, TheHiveShare

        try:
            now = time.monotonic()
            share = TheHiveShare(self.settings, cutoff(deadline, now, THEHIVE_SHARE) - now)
            actions, self.route = list_actions(share, report.kind, report.id, self.job, self.route)
        except TheHiveError as failure:
            raise Unlisted(UNLISTED.format(kind=report.kind, reason=failure), str(failure)) from None
        mine = next((action for action in actions if action.job == self.job), None)
        return None if mine is None else (actions, mine)


def listed_jobs(settings: TheHiveSettings | None, time_budget: float) -> ListedJobs | None:
    """What lists the jobs on a case for this job: nothing without TheHive's API."""
    return None if settings is None else ListedJobs(settings, time_budget / TIME_BUDGET_SHARE)


def others(actions: list[Action], own: Action, job_timeout: float, now: float) -> Others:
    """The jobs of this responder that TheHive made before this one and that still run, unless TheHive stopped
    following them; and the records of those that ended, each as the line a journal would hold, its time on this
    host's clock as `now` reads it: how long before this job's action TheHive ended theirs, by TheHive's clock,
    whatever the two clocks' difference."""
    same = [action for action in actions if _same_responder(action, own) and action.job != own.job]
    behind = now - own.started
    forgotten = own.started - job_timeout - FORGOTTEN_AFTER
    running = [a for a in same if not a.ended and forgotten < a.started and (a.started, a.job) < (own.started, own.job)]
    lines = [
        [action.job, action.finished + behind, tag]
        for action in same
        if action.ended
        for tag in (*(t for t in action.tags if t.partition(":")[0] in RECORDS), None)
    ]
    return Others(len(running), lines)


def _same_responder(action: Action, own: Action) -> bool:
    """One Cortex's id of it, or its definition: the same on every Cortex TheHive asks."""
    return action.responder == own.responder or bool(own.definition) and action.definition == own.definition
