"""The dashboard of reports per verdict over time, shipped as TheHive 4's export file and created by thehive_setup.py.

PhishFeedback/dashboards/phish-feedback-verdicts.json is what TheHive 4's UI exports and imports
(DashboardSrv.exportDashboard: title, description, status, and the definition as an object); its API,
`POST /api/dashboard`, takes the definition as a JSON string (dto/v0/InputDashboard.scala). TheHive 5
documents no API for dashboards: there the file is imported by hand (docs/dashboard.md).
"""

from __future__ import annotations

import json
import os

from feedback.thehive.admin_api import STATUS, AdminApi
from feedback.thehive.field_setup import edition
from feedback.thehive.settings import TheHiveSettings

FILE = os.path.join("dashboards", "phish-feedback-verdicts.json")
PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), FILE)
SHIPPED_FIELD = "phishFeedback"
ROUTE = "/api/dashboard"
SEARCH = "/api/dashboard/_search?range=all"


def shipped(field: str) -> dict:
    """The dashboard as the file holds it, its widgets reading the custom field `field`."""
    with open(PATH, encoding="utf-8") as file:
        text = file.read()
    return json.loads(text.replace(f"customFields.{SHIPPED_FIELD}", f"customFields.{field}"))


def creation(field: str) -> dict:
    """The body of TheHive 4's `POST /api/dashboard`: the definition as a JSON string."""
    dashboard = shipped(field)
    return {**dashboard, "definition": json.dumps(dashboard["definition"], separators=(",", ":"))}


def add_dashboard(settings: TheHiveSettings, field: str, limit: float) -> str:
    """Create the dashboard where TheHive's API allows it (4.x), once; what happened, in a sentence."""
    with AdminApi(settings, limit) as api:
        major = edition(api.call("GET", STATUS))
        title = shipped(field)["title"]
        if major >= 5:
            return (
                "TheHive 5 has no API to create a dashboard, nor a documented file to import: build its two widgets"
                " by hand in TheHive's Dashboards page, as docs/dashboard.md shows (TheHive 5)."
            )
        # All the dashboards the user sees (a few), as TheHive's own list asks for them; the title is compared here.
        found = api.call("POST", SEARCH, {})
        if isinstance(found, list) and any(isinstance(d, dict) and d.get("title") == title for d in found):
            return f"Nothing changed: TheHive already has the dashboard '{title}'."
        api.call("POST", ROUTE, creation(field))
    return f"Created the shared dashboard '{title}' (Dashboards in TheHive's menu)."
