"""The dashboard of reports per verdict over time, shipped as TheHive 4's export file and created by thehive_setup.py.

PhishFeedback/dashboards/phish-feedback-verdicts.json is what TheHive 4's UI exports and imports
(DashboardSrv.exportDashboard: title, description, status, and the definition as an object); its API,
`POST /api/dashboard`, takes the definition as a JSON string (dto/v0/InputDashboard.scala). TheHive 5
documents no API for dashboards: there the file is imported by hand (docs/dashboard.md).
"""

from __future__ import annotations

import json
import os

from feedback.errors import CommandError
from feedback.shapes import replaced
from feedback.thehive.admin_api import ADVICE, AdminApi
from feedback.thehive.settings import TheHiveSettings

FILE = os.path.join("dashboards", "phish-feedback-verdicts.json")
PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), FILE)
SHIPPED_FIELD = "phishFeedback"
ROUTE = "/api/dashboard"
SEARCH = "/api/dashboard/_search?range=all"
CURRENT_USER = "/api/v1/user/current"
# TheHive 4 shares a dashboard with the organisation the key acts in; its admin organisation holds no case, and
# TheHive's menu shows no Dashboards to its admins (TheHive 4.1's DashboardCtrl and header).
IN_ADMIN_ORGANISATION = (
    "the key acts in TheHive's admin organisation, which holds no case and whose admins are shown no dashboards."
    " Run the command again with --dashboard, --organisation and the name of the organisation whose analysts work"
    " the phishing reports, and the key of a user of it who may manage its dashboards (an org-admin); the field is"
    " then read, not changed. Nothing was changed."
)
UNLISTED = (
    "did not answer the search of its dashboards with a list, so the one this step makes may be there already. Check"
    " that --url points at TheHive 4. Nothing was changed."
)


class DashboardApi(AdminApi):
    """TheHive's API as the dashboard step asks it: a refusal there calls for an org-admin of the organisation the
    dashboard is for, where the field step's calls for an admin of TheHive's admin organisation."""

    advice = replaced(
        ADVICE,
        key="Put in THEHIVE_APIKEY the key of an org-admin of the organisation whose analysts work the phishing"
        " reports, who may manage its dashboards, and give it with --organisation.",
    )


def shipped(field: str) -> dict:
    """The dashboard as the file holds it, its widgets reading the custom field `field`."""
    with open(PATH, encoding="utf-8") as file:
        text = file.read()
    return json.loads(text.replace(f"customFields.{SHIPPED_FIELD}", f"customFields.{field}"))


def creation(field: str) -> dict:
    """The body of TheHive 4's `POST /api/dashboard`: the definition as a JSON string."""
    dashboard = shipped(field)
    return {**dashboard, "definition": json.dumps(dashboard["definition"], separators=(",", ":"))}


def add_dashboard(settings: TheHiveSettings, field: str, limit: float, deadline: float) -> str:
    """Create the dashboard where TheHive's API allows it (4.x), once, by the command's `deadline`; what happened, in
    a sentence."""
    with DashboardApi(settings, limit, deadline) as api:
        major = api.edition()
        title = shipped(field)["title"]
        if major >= 5:
            return (
                "TheHive 5 has no API to create a dashboard, nor a documented file to import: build its two widgets"
                " by hand in TheHive's Dashboards page, as docs/dashboard.md shows (TheHive 5)."
            )
        current = api.call("GET", CURRENT_USER)
        if isinstance(current, dict) and str(current.get("organisation", "")).lower() == "admin":
            raise CommandError(IN_ADMIN_ORGANISATION)
        # All the dashboards the user sees (a few), as TheHive's own list asks for them; the title is compared here.
        found = api.call("POST", SEARCH, {}, reads=True)
        if not isinstance(found, list):  # a dashboard it has may be in it: none is made twice
            raise CommandError(f"TheHive at {settings.url} {UNLISTED}")
        named = [d for d in found if isinstance(d, dict) and d.get("title") == title]
        if named:
            return _in_place(named, title, field)
        api.call("POST", ROUTE, creation(field))
    return f"Created the dashboard '{title}', shared with the organisation (Dashboards in TheHive's menu)."


def _in_place(named: list[dict], title: str, field: str) -> str:
    """A dashboard of that title is never replaced nor made twice: said to be in place where it is what the step
    makes (shared with the organisation, reading `field`), else what to do."""
    if any(d.get("status") == "Shared" and f"customFields.{field}" in str(d.get("definition")) for d in named):
        return f"Nothing changed: TheHive already has the dashboard '{title}'."
    if not any(d.get("status") == "Shared" for d in named):
        why = (
            "it is private to the user who made it, so the analysts do not see it: share it (Dashboards, edit, Shared)"
        )
    else:
        why = f"its widgets do not read the custom field '{field}': edit them"
    raise CommandError(
        f"TheHive already has a dashboard '{title}', but {why}, or delete it and run this again. Nothing was changed."
    )
