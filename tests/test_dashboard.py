"""The dashboard of reports per verdict: the shipped file in TheHive 4's export format, created by thehive_setup.py."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from feedback.case import VERDICTS
from feedback.thehive.dashboard import PATH
from testkit.thehive_api import API_KEY
from testkit.thehive_dashboards import DashboardApi
from testkit.thehive_fields import CustomFieldApi

SCRIPT = Path(__file__).resolve().parent.parent / "PhishFeedback" / "thehive_setup.py"
# What TheHive 4's dashboard page lets a row hold (DashboardViewCtrl.js, containerAllowedTypes).
WIDGETS = {"bar", "line", "donut", "counter", "text", "multiline"}


@pytest.fixture
def setup(thehive_ca):
    def run(url: str, *arguments: str) -> subprocess.CompletedProcess:
        env = {**os.environ, "THEHIVE_APIKEY": API_KEY}
        command = [str(SCRIPT), "--url", url, "--cacerts", str(thehive_ca), *arguments]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)

    return run


def test_the_shipped_dashboard_is_in_the_form_thehive4_imports():
    dashboard = json.loads(Path(PATH).read_text())

    assert set(dashboard) == {"title", "description", "status", "definition"}
    assert dashboard["status"] in ("Private", "Shared")
    rows = dashboard["definition"]["items"]
    assert rows and all(row["type"] == "container" for row in rows)
    widgets = [widget for row in rows for widget in row["items"]]
    assert {widget["type"] for widget in widgets} <= WIDGETS
    assert all(
        w["options"]["entity"] == "case" and w["options"]["field"] == "customFields.phishFeedback" for w in widgets
    )
    bar = next(widget for widget in widgets if widget["type"] == "bar")
    assert (bar["options"]["dateField"], bar["options"]["interval"], bar["options"]["stacked"]) == (
        "createdAt",
        "1M",
        True,
    )


@pytest.mark.slow
def test_the_dashboard_step_has_only_what_the_field_step_left_of_the_time_limit(thehive_https, setup):
    """--time-limit is for the whole command: a slow TheHive that took most of it for the field leaves the dashboard
    the rest, not a limit of its own."""
    hive, dashboards = CustomFieldApi(thehive_https, 4), DashboardApi(thehive_https)
    hive.slow = dashboards.slow = 1.0  # the field takes about 3 s of the 6 (3 answers), the dashboard would take 4

    result = setup(hive.url, "--dashboard", "--organisation", "SOC", "--time-limit", "6")

    assert result.returncode == 1
    assert "the custom field is set up, as said above; the dashboard was not created" in result.stderr
    assert "within 6 s, the time this command allows itself in all (--time-limit)" in result.stderr
    assert hive.field("phishFeedback") and dashboards.dashboards == []


def test_setup_creates_the_dashboard_on_thehive4_once_reading_the_field_named(thehive_https, setup):
    hive = CustomFieldApi(thehive_https, 4)
    dashboards = DashboardApi(thehive_https)

    hive.add("verdict", options=VERDICTS)  # made by a first run with the key of the admin organisation
    first = setup(hive.url, "--field", "verdict", "--dashboard", "--organisation", "SOC")
    again = setup(hive.url, "--field", "verdict", "--dashboard", "--organisation", "SOC")

    assert first.returncode == 0 and again.returncode == 0, first.stderr + again.stderr
    assert "Created the dashboard 'Phishing reports by verdict', shared with the organisation" in first.stdout
    assert dashboards.organisations == ["SOC"]
    assert "Nothing changed: TheHive already has the dashboard" in again.stdout
    (created,) = dashboards.dashboards
    definition = json.loads(created["definition"])
    fields = {widget["options"]["field"] for row in definition["items"] for widget in row["items"]}
    assert fields == {"customFields.verdict"}


def test_a_dashboard_asked_for_in_the_admin_organisation_is_refused_with_the_way_to_make_it(thehive_https, setup):
    hive = CustomFieldApi(thehive_https, 4)
    dashboards = DashboardApi(thehive_https)

    result = setup(hive.url, "--dashboard")

    assert result.returncode == 1
    assert "Created the string custom field 'phishFeedback'" in result.stdout
    assert "admin organisation, which holds no case" in result.stderr and "--organisation" in result.stderr
    assert dashboards.dashboards == []


def test_a_refused_dashboard_after_the_field_was_created_says_the_field_stands(thehive_https, setup):
    hive = CustomFieldApi(thehive_https, 4)
    DashboardApi(thehive_https).forbidden = True

    result = setup(hive.url, "--dashboard", "--organisation", "SOC")

    assert result.returncode == 1
    assert "Created the string custom field 'phishFeedback'" in result.stdout
    assert result.stderr.startswith(
        "thehive_setup: the custom field is set up, as said above; the dashboard was not created: "
    )
    assert "HTTP 403" in result.stderr and len(result.stderr.splitlines()) == 1
    # The way on is an org-admin's key, never the admin organisation's, which the dashboard step refuses itself.
    assert "the key of an org-admin of the organisation whose analysts work the phishing reports" in result.stderr
    assert "admin organisation" not in result.stderr


def test_setup_on_thehive5_says_where_the_dashboards_steps_are(thehive_https, setup):
    hive = CustomFieldApi(thehive_https, 5)

    result = setup(hive.url, "--dashboard")

    assert result.returncode == 0, result.stderr
    assert "TheHive 5 has no API to create a dashboard" in result.stdout
    assert "build its two widgets by hand" in result.stdout
    assert "docs/dashboard.md" in result.stdout


def made_by_hand(field: str, status: str) -> dict:
    """A dashboard of the shipped title, as TheHive 4 lists one made by hand: reading `field`, `status` its sharing."""
    definition = {
        "items": [{"type": "container", "items": [{"type": "donut", "options": {"field": f"customFields.{field}"}}]}]
    }
    return {
        "_id": "~9000",
        "title": "Phishing reports by verdict",
        "status": status,
        "definition": json.dumps(definition),
    }


@pytest.mark.parametrize(
    ("field", "status", "says"),
    [
        ("phishFeedback", "Private", "it is private to the user who made it, so the analysts do not see it"),
        ("verdict", "Shared", "its widgets do not read the custom field 'phishFeedback'"),
    ],
    ids=["private", "another-field"],
)
def test_a_dashboard_of_the_title_that_is_not_the_one_asked_for_is_said_so_and_left_alone(
    thehive_https, setup, field, status, says
):
    hive, dashboards = CustomFieldApi(thehive_https, 4), DashboardApi(thehive_https)
    hive.add("phishFeedback", options=VERDICTS)
    dashboards.dashboards.append(mine := made_by_hand(field, status))

    result = setup(hive.url, "--dashboard", "--organisation", "SOC")

    assert result.returncode == 1
    assert says in result.stderr and "or delete it and run this again. Nothing was changed." in result.stderr
    assert dashboards.dashboards == [mine]


@pytest.mark.parametrize(
    ("status", "body", "said"),
    [
        (503, '{"type": "ServiceUnavailable", "message": "restarting"}', "answered HTTP 503 to POST /api/dashboard"),
        (200, "<html><body>Please log in</body></html>", "answered something other than JSON (HTTP 200)"),
        (200, '{"data": [{"title": "Phishing reports by verdict"}]}', "did not answer the search of its dashboards"),
    ],
    ids=["server-error", "a-login-page", "an-object"],
)
def test_a_search_of_the_dashboards_that_lists_none_makes_none_and_never_says_a_change_may_have_been_made(
    thehive_https, setup, status, body, said
):
    """The search only reads, though it is a POST; a dashboard it did not list may be there already."""
    hive = CustomFieldApi(thehive_https, 4)
    hive.add("phishFeedback", options=VERDICTS)
    thehive_https.expect_request("/api/dashboard/_search", method="POST").respond_with_data(
        body, status=status, content_type="text/html" if body.startswith("<") else "application/json"
    )
    dashboards = DashboardApi(thehive_https)

    result = setup(hive.url, "--dashboard", "--organisation", "SOC")

    assert result.returncode == 1 and dashboards.dashboards == []
    assert said in result.stderr and "may have been made" not in result.stderr
