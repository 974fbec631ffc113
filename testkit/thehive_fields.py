"""TheHive 4.1's and TheHive 5's custom-field API on a loopback server, keeping what it was told between runs.

Shapes from TheHive 4.1.24's sources (v0 `OutputCustomField`: id, name = the name shown, reference =
the internal name; v1 `OutputCustomField`; the v1 create reads no `options`) and TheHive 5's
documentation (v1 objects with name, displayName, group). See docs/thehive-setup.md.
"""

from __future__ import annotations

import itertools
import json
import re
import time
from collections.abc import Callable

from werkzeug import Request, Response

from testkit.thehive_api import API_KEY, CREATED

VERSIONS = {4: "4.1.24-1", 5: "5.4.5-1"}
FIELDS = re.compile(r"^/api/(v1/)?customField(/[^/]+)?$")


class CustomFieldApi:
    """Install on a pytest-httpserver; `fields` holds the custom fields as TheHive stores them."""

    def __init__(self, server, major: int) -> None:
        self.major = major
        self.fields: list[dict] = []
        self.writes: list[tuple[str, str, dict]] = []
        self.url = server.url_for("/").rstrip("/")
        # Refusals quote the credentials they were sent, as a careless proxy or server may.
        self.echo = False
        # Refusals quote the key in this form (URL-encoded, say, as an authentication gateway may quote a query).
        self.echo_as: Callable[[str], str] | None = None
        self.key = API_KEY
        # What answers a change TheHive made (status, body): a proxy's 504 while TheHive went on, a body rewritten.
        self.after_write: tuple[int, str] | None = None
        # Every create or change refused with 400.
        self.refuse_writes = False
        # What GET /api/v1/status says TheHive's version is.
        self.version = VERSIONS[major]
        self.slow = 0.0  # seconds each answer takes
        self.asked = 0  # the calls begun, answered or not
        self._ids = itertools.count(4096)
        server.expect_request("/api/v1/status").respond_with_handler(self._status)
        server.expect_request(FIELDS).respond_with_handler(self._answer)

    def add(self, name: str, type: str = "string", options=()) -> dict:
        """A field an admin made before, by hand."""
        field = {
            "id": f"~{next(self._ids)}",
            "name": name,
            "displayName": name,
            "group": "default",
            "description": "made by hand",
            "type": type,
            "options": list(options),
            "mandatory": False,
        }
        self.fields.append(field)
        return field

    def field(self, name: str) -> dict:
        return next(field for field in self.fields if field["name"] == name)

    def _status(self, request: Request) -> Response:
        self.asked += 1
        time.sleep(self.slow)
        versions = {"Scalligraph": self.version, "TheHive": self.version, "Play": "2.8.x"}
        return _json(200, {"versions": versions, "connectors": {}, "config": {"authType": ["local", "key"]}})

    def _answer(self, request: Request) -> Response:
        self.asked += 1
        time.sleep(self.slow)
        seen = f" (Authorization: {request.headers.get('Authorization')})" if self.echo else ""
        if self.echo_as:
            seen = f" (token={self.echo_as(request.headers.get('Authorization', '').removeprefix('Bearer '))})"
        if request.headers.get("Authorization") != f"Bearer {self.key}":
            return _json(401, {"type": "AuthenticationError", "message": f"Authentication failure{seen}"})
        v1 = request.path.startswith("/api/v1/")
        if self.major == 5 and not v1:
            return _json(404, {"type": "NotFound", "message": f"{request.path} not found"})
        identifier = FIELDS.match(request.path).group(2)
        if request.method == "GET" and not identifier:
            return _json(200, [self._shown(field, v1) for field in self.fields])
        body = json.loads(request.data or b"{}")
        self.writes.append((request.method, request.path, body))
        if self.refuse_writes:
            return _json(400, {"type": "BadRequest", "message": f"Invalid request{seen}"})
        if request.method == "POST" and not identifier:
            return self._made(self._create(body, v1))
        if request.method == "PATCH" and identifier and (not v1 or self.major == 5):
            return self._made(self._patch(identifier[1:], body, v1))
        return _json(404, {"type": "NotFound", "message": f"{request.method} {request.path} not found"})

    def _made(self, answer: Response) -> Response:
        if self.after_write is None:
            return answer
        status, body = self.after_write
        return Response(body, status=status, content_type="text/html")

    def _create(self, body: dict, v1: bool) -> Response:
        name = body.get("name") if v1 else body.get("reference")
        if any(field["name"] == name for field in self.fields):
            return _json(400, {"type": "CreateError", "message": f"CustomField {name} already exists"})
        field = self.add(name, body.get("type", "string"))
        # TheHive 4.1's v1 create reads name, description, type and mandatory only.
        takes_options = self.major == 5 or not v1
        field.update(
            displayName=body.get("displayName", name) if v1 else body.get("name"),
            group=body.get("group", "default"),
            description=body.get("description", ""),
            mandatory=body.get("mandatory", False),
            options=body.get("options", []) if takes_options else [],
        )
        return _json(201, self._shown(field, v1))

    def _patch(self, identifier: str, body: dict, v1: bool) -> Response:
        field = next((field for field in self.fields if field["id"] == identifier), None)
        if field is None:
            return _json(404, {"type": "NotFoundError", "message": f"CustomField {identifier} not found"})
        field.update({key: body[key] for key in ("options", "description", "mandatory") if key in body})
        return Response(status=204) if self.major == 5 else _json(200, self._shown(field, v1))

    def _shown(self, field: dict, v1: bool) -> dict:
        if not v1:
            keys = ("description", "type", "options", "mandatory")
            return {"id": field["id"], "name": field["displayName"], "reference": field["name"]} | {
                key: field[key] for key in keys
            }
        shown = {
            "_id": field["id"],
            "_type": "CustomField",
            "_createdBy": "admin@thehive.local",
            "_createdAt": CREATED,
            "name": field["name"],
            "description": field["description"],
            "type": field["type"],
            "options": field["options"],
            "mandatory": field["mandatory"],
        }
        if self.major == 5:
            shown.update(displayName=field["displayName"], group=field["group"])
        return shown


def _json(status: int, body: object) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")
