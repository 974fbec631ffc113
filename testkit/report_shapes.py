"""A generated report (testkit/report_cases.py) as TheHive returns the case: TheHive 5's query, 4.x's v0 search.

TheHive 5's shape is thehive4py's OutputCase with every field; 4.x's the v0 case of docs/cortex-and-thehive.md §4,
its tags rendered by TheHive 4.0 where asked (testkit/thehive40_tags.py).
"""

from __future__ import annotations

from testkit.report_cases import Report
from testkit.thehive40_tags import rendered

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
    """A case as TheHive 4's `POST /api/case/_search` returns it.

    TheHive 4.0 shows every tag rendered (docs/cortex-and-thehive.md §4).
    """
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
