"""Cases and alerts as TheHive 4 and 5 send them to a responder (docs/cortex-and-thehive.md §4)."""

from __future__ import annotations

CREATED = 1693412835000


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
