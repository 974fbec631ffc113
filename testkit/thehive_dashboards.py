"""TheHive 4's dashboard API on a loopback server (controllers/v0/DashboardCtrl.scala): list and create.

`POST /api/dashboard` takes `{title, description, status, definition}` with the definition a JSON
string (dto/v0/InputDashboard.scala) and answers 201 with the dashboard; `POST /api/dashboard/_search`
lists them. Install beside testkit/thehive_fields.py's CustomFieldApi, which answers the status.
"""

from __future__ import annotations

import json
import time

from werkzeug import Request, Response

from testkit.thehive_api import API_KEY, CREATED


class DashboardApi:
    def __init__(self, server) -> None:
        self.dashboards: list[dict] = []
        # Every dashboard refused with 403, as TheHive refuses a user without the permission.
        self.forbidden = False
        server.expect_request("/api/dashboard/_search", method="POST").respond_with_handler(self._search)
        server.expect_request("/api/dashboard", method="POST").respond_with_handler(self._create)
        server.expect_request("/api/v1/user/current").respond_with_handler(self._current)
        self.organisations: list[str] = []  # where each dashboard was made
        self.slow = 0.0  # seconds each answer takes

    def _refused(self, request: Request) -> Response | None:
        """TheHive's answer to a request without the key, after the time each answer takes; None with the key."""
        time.sleep(self.slow)
        if request.headers.get("Authorization") != f"Bearer {API_KEY}":
            return _json(401, {"type": "AuthenticationError", "message": "Authentication failure"})
        return None

    def _current(self, request: Request) -> Response:
        """The key's user as TheHive 4's v1 API shows it: the organisation it acts in, its default one (admin) unless
        X-Organisation names another."""
        if refusal := self._refused(request):
            return refusal
        organisation = request.headers.get("X-Organisation") or "admin"
        return _json(200, {"_id": "~8", "login": "admin@thehive.local", "organisation": organisation})

    def _search(self, request: Request) -> Response:
        if refusal := self._refused(request):
            return refusal
        return _json(200, self.dashboards)

    def _create(self, request: Request) -> Response:
        if refusal := self._refused(request):
            return refusal
        if self.forbidden:
            return _json(403, {"type": "AuthorizationError", "message": "Your are not authorized"})
        self.organisations.append(request.headers.get("X-Organisation") or "admin")
        body = json.loads(request.data)
        fields = ("title", "description", "status", "definition")
        if set(body) != set(fields) or not all(isinstance(body[key], str) for key in fields):
            return _json(
                400, {"type": "BadRequest", "message": "Invalid dashboard: title, description, status, definition"}
            )
        identifier = f"~{8192 + len(self.dashboards)}"
        dashboard = {"_id": identifier, "id": identifier, "_type": "dashboard", "createdBy": "admin@thehive.local"}
        dashboard.update(createdAt=CREATED, **body)
        self.dashboards.append(dashboard)
        return _json(201, dashboard)


def _json(status: int, body: object) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")
