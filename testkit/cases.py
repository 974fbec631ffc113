"""Cases and alerts as TheHive 3, 4.0, 4.1 and 5 send them to a responder (docs/cortex-and-thehive.md §4).

TheHive 4.0 shows every tag through its tag renderer (testkit/thehive40_tags.py), and an upgraded
TheHive 4.1 holds the same forms; a fresh 4.1 and TheHive 5 send the tags as they were added.
"""

from __future__ import annotations

import itertools

from testkit.thehive40_tags import rendered

CREATED = 1693412835000
_other_ids = itertools.count(1)


def thehive4_case(
    verdict: str | None = "Spam", reporters=("alice@example.org",), title="Phishing report: Invoice overdue", tags=()
) -> dict:
    return {
        "_id": "~41160752",
        "id": "~41160752",
        "_type": "case",
        "caseId": 42,
        "title": title,
        "description": "Reported through the phishing button.",
        "severity": 2,
        "startDate": CREATED,
        "tlp": 2,
        "pap": 2,
        "status": "Open",
        "owner": "analyst@soc.example.org",
        "tags": ["phishing", *(f"user_email:{r}" for r in reporters), *tags],
        "customFields": {
            "phishFeedback": {"string": verdict, "order": 0},
            "escalated": {"boolean": None, "order": None},
        },
        "createdBy": "analyst@soc.example.org",
        "createdAt": CREATED,
        "stats": {},
        "permissions": [],
    }


def thehive5_case(
    verdict: str | None = "Spam", reporters=("alice@example.org",), title="Phishing report: Invoice overdue", tags=()
) -> dict:
    case = thehive4_case(None, reporters, title, tags)
    del case["customFields"]
    case.update(
        _id="~8256",
        id="~8256",
        number=7,
        stage="New",
        extendedStatus="New",
        customFieldValues={"phishFeedback": verdict},
    )
    del case["caseId"]
    return case


def thehive_alert(verdict: str | None = "Spam", reporters=("alice@example.org",), artifacts=()) -> dict:
    return {
        "_id": "~1234",
        "id": "~1234",
        "_type": "alert",
        "title": "Phishing report: Your parcel is waiting",
        "type": "phishing-report",
        "source": "mailbox",
        "sourceRef": "report-2024-001",
        "date": CREATED,
        "tlp": 2,
        "pap": 2,
        "tags": [f"user_email:{r}" for r in reporters],
        "customFields": {"phishFeedback": {"string": verdict, "order": 0}},
        "artifacts": list(artifacts),
    }


def thehive40_case(verdict: str | None = "Spam", reporters=("alice@example.org",), tags=()) -> dict:
    """A case from TheHive 4.0 (or 4.1 after its upgrade from 4.0): the v0 shape, tags as 4.0 renders them."""
    case = thehive4_case(verdict, reporters, tags=tags)
    return dict(case, tags=[rendered(tag) for tag in case["tags"]])


def thehive4_alert(verdict: str | None = "Spam", reporters=("alice@example.org",), tags=()) -> dict:
    """An alert as TheHive 4.1 sends it to a responder: v0 `OutputAlert`, its `artifacts` always empty."""
    return {
        "_id": "~40964",
        "id": "~40964",
        "createdBy": "mail-collector@soc.example.org",
        "createdAt": CREATED,
        "_type": "alert",
        "type": "phishing-report",
        "source": "mailbox",
        "sourceRef": "report-2024-001",
        "externalLink": None,
        "title": "Phishing report: Your parcel is waiting",
        "description": "Reported through the phishing button.",
        "severity": 2,
        "date": CREATED,
        "tags": [*(f"user_email:{r}" for r in reporters), *tags],
        "tlp": 2,
        "pap": 2,
        "status": "New",
        "follow": True,
        "case": None,
        "customFields": {"phishFeedback": {"string": verdict, "order": 0}},
        "caseTemplate": None,
        "artifacts": [],
        "similarCases": [],
    }


def thehive40_alert(verdict: str | None = "Spam", reporters=("alice@example.org",), tags=()) -> dict:
    """An alert from TheHive 4.0 (or an upgraded 4.1): tags as 4.0 renders them."""
    alert = thehive4_alert(verdict, reporters, tags)
    return dict(alert, tags=[rendered(tag) for tag in alert["tags"]])


def thehive5_alert(verdict: str | None = "Spam", reporters=("alice@example.org",), tags=()) -> dict:
    """An alert from TheHive 5 (inferred, docs/cortex-and-thehive.md §4).

    The v0 fields, `customFieldValues`, `artifacts` empty.
    """
    alert = thehive4_alert(None, reporters, tags)
    del alert["customFields"]
    alert.update(_id="~12288", id="~12288", stage="New", customFieldValues={"phishFeedback": verdict})
    return alert


def another_case(case: dict) -> dict:
    """The same report as another case (or alert) of TheHive's: a job on it is no rerun of a job on the first, which
    waits for that one and takes its records (docs/exactly-once.md)."""
    other = f"~9{next(_other_ids):07d}"
    return {**case, **{key: other for key in ("_id", "id") if key in case}}
