"""Generated phishing-report cases whose totals are known, in the shapes TheHive 5, 4.1 and 4.0 return them.

A seeded generator makes `Report`s (what happened: when, which verdict, who reported, who was told and
when); `v1_case` and `v0_case` dress one as TheHive 5's query answer or 4.x's v0 search answer, and
`expected` counts the totals from the `Report`s alone, the way docs/statistics.md defines them, for the
tests to compare with what thehive_stats.py prints.
"""

from __future__ import annotations

import math
import random
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone

from feedback.tags import ACKNOWLEDGED, NOTIFIED, ack_time_tag, record_tag, verdict_tag
from testkit.thehive40_tags import rendered

VERDICTS = ("Phishing", "Spam", "Legit email", "Simulation")
# What an analyst may leave in the field besides the four: unset, another word, a verdict spelt loosely.
ODD_VERDICTS = (None, None, "Undecided", "legit  EMAIL")
DAY = 86400_000
# 2026-01-01T00:00:00Z: the generated cases start then.
START = 1767225600_000
# A reporter tag in each form TheHive stores: as added, TheHive 4.0's renderings, spelt in capitals.
FORMS = ("user_email:{}", 'user_email="{}"', "user_email={}", "USER_EMAIL:{}")


# A TheHive 5 analyst's permissions on a case, as its answers list them.
PERMISSIONS = [
    "manageCase/create",
    "manageCase/update",
    "manageCase/delete",
    "manageCase/merge",
    "manageCase/changeOwnership",
    "manageCase/reopen",
    "manageObservable",
    "manageAlert/create",
    "manageAlert/update",
    "manageTask",
    "manageAction",
    "manageShare",
    "manageAnalyse",
    "managePage",
    "manageProcedure",
    "manageComment",
    "manageTimeline",
    "manageFile",
    "accessTheHiveFS",
    "manageTag",
]
DESCRIPTION = """Reported by {reporter} with the phishing button (report {number}).

**From:** "IT Service Desk" <it-support@mailbox-helpdesk.example.net>
**To:** {reporter}
**Subject:** Action required: your mailbox is almost full
**Received:** from mail-out.mailbox-helpdesk.example.net (203.0.113.25) by mx1.example.org

Dear user,

Your mailbox has reached 98% of its storage quota. To avoid losing incoming messages, please validate
your account within 24 hours by following the link below and signing in with your usual credentials.

https://mailbox-helpdesk.example.net/validate?user={reporter}&ticket={number}

If you do not validate your account, new messages will be rejected and your mailbox may be suspended.
We apologise for any inconvenience this may cause.

Kind regards,
IT Service Desk
This is an automated message; please do not reply.
"""


@dataclass
class Report:
    number: int
    created: int  # epoch ms, whole seconds
    title: str
    verdict: str | None
    reporters: list[str]
    alert: int | None = None  # the alert's date, where the case came from one
    told: dict = field(default_factory=dict)  # address -> epoch seconds of the verdict message
    sent: list = field(default_factory=list)  # told by an older version: no time
    acked: dict = field(default_factory=dict)
    acked_untimed: list = field(default_factory=list)
    tags: list = field(default_factory=list)


def generate(
    count: int, seed: int = 7, days: int = 150, reporters: int = 400, prefix="Phishing report", campaigns: float = 0.05
) -> list[Report]:
    """`count` cases over `days` days, oldest first: some campaigns (many reporters), some not phishing reports."""
    rng = random.Random(seed)
    people = [f"employee{i}@example.org" for i in range(reporters)]
    reports = []
    for number in range(count):
        created = START + rng.randrange(days * DAY) // 1000 * 1000
        verdict = rng.choice(VERDICTS * 3 + ODD_VERDICTS)
        many = rng.random() < campaigns
        names = rng.sample(people, rng.randint(5, 40) if many else rng.choice((1, 1, 1, 2)))
        title = f"{prefix}: message {number}" if rng.random() < 0.95 else f"Malware alert {number}"
        report = Report(number, created, title, verdict, names)
        if rng.random() < 0.3:
            report.alert = created - rng.randrange(1, 3600) * 1000
        start = (report.alert or created) // 1000
        for name in names:
            draw = rng.random()
            if verdict in VERDICTS and draw < 0.6:
                # Most within hours, a few after days: spread evenly over the logarithm of the time.
                report.told[name] = start + round(math.exp(rng.uniform(math.log(60), math.log(6 * 86400))))
            elif verdict in VERDICTS and draw < 0.8:
                report.sent.append(name)
            if rng.random() < 0.4:
                report.acked[name] = start + rng.randrange(5, 600)
            elif rng.random() < 0.1:
                report.acked_untimed.append(name)
        report.tags = tags_of(report, rng)
        reports.append(report)
    return sorted(reports, key=lambda r: (r.created, r.number))


def tags_of(report: Report, rng: random.Random) -> list[str]:
    tags = ["phishing"]
    for name in report.reporters:
        tags.append(rng.choice(FORMS).format(name.upper() if rng.random() < 0.1 else name))
        if rng.random() < 0.1:  # named twice, in another form: still one report
            tags.append(rng.choice(FORMS).format(name))
    if rng.random() < 0.05:
        tags.append("user_email:not an address")
    verdict = report.verdict or ""
    for name, at in report.told.items():
        tags += [record_tag(NOTIFIED, name), verdict_tag(name, verdict, _moment(at))]
    tags += [record_tag(NOTIFIED, name) for name in report.sent]
    for name, at in report.acked.items():
        tags += [record_tag(ACKNOWLEDGED, name), ack_time_tag(name, _moment(at))]
    tags += [record_tag(ACKNOWLEDGED, name) for name in report.acked_untimed]
    return tags


def _moment(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, tz=timezone.utc)


def v1_case(report: Report, field_name: str = "phishFeedback") -> dict:
    """A case as TheHive 5's `POST /api/v1/query?name=cases` returns it, every field of thehive4py's OutputCase.

    The description is the reported message's text, as a mail collector writes it: what makes a real case
    a few kilobytes long.
    """
    case = {
        "_id": f"~{4096 + report.number}",
        "_type": "Case",
        "_createdBy": "collector@soc.example.org",
        "_updatedBy": "analyst@soc.example.org",
        "_createdAt": report.created,
        "_updatedAt": report.created + 3600_000,
        "number": report.number + 1,
        "title": report.title,
        "description": DESCRIPTION.format(number=report.number, reporter=(report.reporters or ["?"])[0]),
        "severity": 2,
        "severityLabel": "MEDIUM",
        "startDate": report.created,
        "tags": report.tags,
        "flag": False,
        "tlp": 2,
        "tlpLabel": "AMBER",
        "pap": 2,
        "papLabel": "AMBER",
        "status": "InProgress",
        "stage": "InProgress",
        "summary": "",
        "impactStatus": "NotApplicable",
        "assignee": "analyst@soc.example.org",
        "access": {"kind": "OrganisationLevel"},
        "customFields": [
            {
                "_id": "~77",
                "name": field_name,
                "description": "The SOC's verdict",
                "type": "string",
                "value": report.verdict,
                "order": 0,
            },
            {
                "_id": "~78",
                "name": "escalated",
                "description": "Sent to the CERT",
                "type": "boolean",
                "value": None,
                "order": 1,
            },
        ],
        "userPermissions": PERMISSIONS,
        "extraData": {},
        "newDate": report.created,
        "inProgressDate": report.created + 600_000,
        "timeToDetect": 0,
        "timeToTriage": 600_000,
    }
    if report.alert is not None:
        case.update(alertDate=report.alert, alertNewDate=report.alert + 1000, alertImportedDate=report.created)
    return case


def v0_case(report: Report, field_name: str = "phishFeedback", thehive40: bool = False) -> dict:
    """A case as TheHive 4's `POST /api/case/_search` returns it; 4.0 shows every tag rendered (§4)."""
    identifier = f"~{4096 + report.number}"
    return {
        "_id": identifier,
        "id": identifier,
        "_type": "case",
        "caseId": report.number + 1,
        "title": report.title,
        "description": "Reported through the phishing button.",
        "severity": 2,
        "startDate": report.created,
        "tlp": 2,
        "pap": 2,
        "status": "Open",
        "owner": "analyst@soc.example.org",
        "tags": [rendered(tag) for tag in report.tags] if thehive40 else report.tags,
        "customFields": {field_name: {"string": report.verdict, "order": 0}, "escalated": {"boolean": None}},
        "createdBy": "collector@soc.example.org",
        "createdAt": report.created,
        "stats": {},
    }


def expected(
    reports: list[Report], since: int = 0, before: int = 1 << 60, prefix="Phishing report", alerts: bool = True
) -> dict:
    """The totals thehive_stats.py must print for these cases, counted from what the generator knows.

    With `alerts`, feedback is timed from the alert's date where there was one (TheHive 5 says it; 4.x's v0 does not).
    """
    chosen = [r for r in reports if since <= r.created < before and r.title.startswith(prefix)]
    verdict = {r.number: _named(r.verdict) for r in chosen}
    delays, ack_delays, per_reporter = [], [], Counter()
    answered = unanswered = acknowledged = 0
    for r in chosen:
        start = ((alerts and r.alert) or r.created) / 1000
        per_reporter.update(r.reporters)
        acknowledged += len(set(r.acked) | set(r.acked_untimed))
        ack_delays += [round(at - start) for at in r.acked.values()]
        if verdict[r.number] in VERDICTS:
            told = set(r.told) | set(r.sent)
            answered += len(told)
            unanswered += len(r.reporters) - len(told)
            delays += [round(at - start) for at in r.told.values()]
    return {
        "cases": len(chosen),
        "reports": sum(len(r.reporters) for r in chosen),
        "reporters": len(per_reporter),
        "verdicts": Counter(verdict.values()),
        "answered": answered,
        "unanswered": unanswered,
        "acknowledged": acknowledged,
        "median_seconds": round(statistics.median(delays)) if delays else None,
        "p90_seconds": sorted(delays)[math.ceil(0.9 * len(delays)) - 1] if delays else None,
        "ack_median_seconds": round(statistics.median(ack_delays)) if ack_delays else None,
        "top": sorted(per_reporter.items(), key=lambda item: (-item[1], item[0])),
        "months": Counter(datetime.fromtimestamp(r.created / 1000, tz=timezone.utc).strftime("%Y-%m") for r in chosen),
    }


def _named(verdict: str | None) -> str:
    if verdict is None:
        return "none"
    return next((v for v in VERDICTS if v.lower() == " ".join(verdict.split()).lower()), verdict)
