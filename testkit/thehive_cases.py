"""TheHive 5's and 4.x's case search on a loopback server: the query steps, the filter, the paging, and faults.

TheHive 5 (and the v1 of 4.1): `POST /api/v1/query` with listCase, filter, sort, page or count steps,
the filter in TheHive's query syntax; TheHive 4.x's v0: `POST /api/case/_search?range=a-b&sort=…`
(end exclusive, `all` for everything) and `POST /api/case/_stats` with a count (QueryCtrl.scala). An
unknown operator or field answers 400, as TheHive does. Custom fields list as TheHive lists them
(testkit/thehive_fields.py's shapes). Faults: a TheHive that ignores the range, one that answers the
same page for ever, a count that is wrong, any one answer replaced.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from werkzeug import Request, Response

from testkit.report_cases import Report
from testkit.report_shapes import v0_case, v1_case
from testkit.thehive_api import API_KEY

VERSIONS = {"5": "5.4.5-1", "4.1": "4.1.24-1", "4.0": "4.0.5-1"}
OPERATORS = ("_lt", "_lte", "_gt", "_gte", "_eq", "_ne", "_startsWith", "_endsWith", "_like")


class BadQuery(ValueError):
    pass


class CaseSearch:
    """Install on a pytest-httpserver; `reports` are the cases it holds, shown in the version's shape."""

    def __init__(self, server, version: str, reports: list[Report], field: str = "phishFeedback") -> None:
        self.version, self.field = version, field
        self.v1 = version == "5"
        created = "_createdAt" if self.v1 else "createdAt"
        self.cases = list(map(self._dressed, reports))
        self.cases.sort(key=lambda case: case[created])
        self.created = created
        self.fields = [field, "escalated"]
        self.url = server.url_for("/").rstrip("/")
        self.requests: list[tuple[str, object]] = []
        self.ignore_range = self.same_page = False
        self.page_cap = 0  # the most cases a page holds, whatever was asked (a server's or a proxy's cap); 0: none
        self.count_offset = 0
        self.replaced: dict[str, tuple[int, bytes]] = {}  # path -> (status, body) answered instead
        self.pages: tuple[int, bytes] | None = None  # (status, body) answered to every page asked for
        self.unknown: set[str] = set()  # operators this TheHive does not know
        self.slow = 0.0  # seconds each page takes
        self.delays: list[float] = []  # seconds the next searches take, one each, before `slow` applies
        self.unavailable = 0  # pages answered 503 (a proxy's, a restart's) before TheHive answers again
        # Cases older than every other, put in once the first page was answered (an import during the read): every
        # later page then begins as many cases back, with the last ones of the page before.
        self.imported_while_read: list[Report] = []
        self.key = API_KEY
        self._kept: dict[str, tuple[list, list]] = {}  # question -> (the cases asked about, the answer)
        server.expect_request("/api/v1/status").respond_with_handler(self._status)
        for path in ("/api/v1/customField", "/api/customField"):
            server.expect_request(path, method="GET").respond_with_handler(self._fields)
        for path in ("/api/v1/query", "/api/case/_search", "/api/case/_stats"):
            server.expect_request(path, method="POST").respond_with_handler(self._search)

    def _status(self, request: Request) -> Response:
        return _json(200, {"versions": {"TheHive": VERSIONS[self.version]}, "config": {}})

    def _refused(self, request: Request) -> Response | None:
        if request.path in self.replaced:
            status, body = self.replaced[request.path]
            return Response(body, status=status, content_type="application/json")
        if request.headers.get("Authorization") != f"Bearer {self.key}":
            return _json(401, {"type": "AuthenticationError", "message": "Authentication failure"})
        return None

    def _fields(self, request: Request) -> Response:
        if refusal := self._refused(request):
            return refusal
        if request.path.startswith("/api/v1/"):
            return _json(
                200, [{"_id": f"~{i}", "name": n, "type": "string", "options": []} for i, n in enumerate(self.fields)]
            )
        return _json(
            200, [{"id": f"~{i}", "name": n, "reference": n, "type": "string"} for i, n in enumerate(self.fields)]
        )

    def _search(self, request: Request) -> Response:
        if refusal := self._refused(request):
            return refusal
        body = json.loads(request.data or b"{}")
        self.requests.append((request.full_path, body))
        time.sleep(self.delays.pop(0) if self.delays else self.slow)
        if self.unavailable and "count" not in json.dumps(body):
            self.unavailable -= 1
            return Response("Service Unavailable", status=503, content_type="text/plain")
        if self.pages and "count" not in json.dumps(body):
            return Response(self.pages[1], status=self.pages[0], content_type="application/json")
        try:
            if request.path == "/api/v1/query":
                return _json(200, self._steps(body.get("query")))
            self._check(body.get("query") or {})
            chosen = self._chosen(self.cases, body.get("query") or {})
            if request.path == "/api/case/_stats":
                return _json(200, {"count": len(chosen) + self.count_offset})
            return _json(200, self._page(chosen, *_range(request.args.get("range", "0-10"))))
        except BadQuery as bad:
            return _json(400, {"type": "BadRequest", "message": f"Invalid query: {bad}"})

    def _steps(self, steps: object) -> object:
        if not self.v1:
            raise BadQuery("this emulator speaks v0 for TheHive 4")
        if not isinstance(steps, list) or not steps or steps[0] != {"_name": "listCase"}:
            raise BadQuery("the query must start with listCase")
        chosen = self.cases
        for step in steps[1:]:
            name = step.get("_name")
            if name == "filter":
                node = {k: v for k, v in step.items() if k != "_name"}
                self._check(node)
                chosen = self._chosen(chosen, node)
            elif name == "sort":
                chosen = self._sorted(chosen, step["_fields"])
            elif name == "page":
                return self._page(chosen, step["from"], step["to"])
            elif name == "count":
                return len(chosen) + self.count_offset
            else:
                raise BadQuery(f"unknown step {name}")
        return chosen

    def _sorted(self, cases: list, fields: list) -> list:
        def ordered() -> list:
            chosen = cases
            for order in reversed(fields):
                ((name, direction),) = order.items()
                chosen = sorted(
                    chosen, key=lambda case: _sort_key(case, self._field(name)), reverse=direction == "desc"
                )
            return chosen

        return self._answer(f"sort {json.dumps(fields)}", cases, ordered)

    def _chosen(self, cases: list, node: dict) -> list:
        return self._answer(
            f"filter {json.dumps(node, sort_keys=True)}", cases, lambda: [c for c in cases if self._matches(c, node)]
        )

    def _answer(self, question: str, cases: list, answer: Callable[[], list]) -> list:
        """The answer kept for the next page's same question about the same cases: 100,000 cases are many to filter
        and sort for every page."""
        kept = self._kept.get(question)
        if kept is None or kept[0] is not cases:
            kept = self._kept[question] = (cases, answer())
        return kept[1]

    def _page(self, chosen: list, start: int, end: int) -> list:
        if self.ignore_range:
            return chosen
        if self.same_page:
            start, end = 0, end - start
        if self.page_cap:
            end = min(end, start + self.page_cap)
        page = chosen[start:end]
        if self.imported_while_read:
            self.cases = [*map(self._dressed, self.imported_while_read), *self.cases]
            self.imported_while_read = []
        return page

    def _dressed(self, report: Report) -> dict:
        """The case as this version's search answers it."""
        if self.v1:
            return v1_case(report, self.field)
        return v0_case(report, self.field, thehive40=self.version == "4.0")

    def _check(self, node: object) -> None:
        """The whole filter is parsed before a case is read: an unknown operator is refused on an empty base too."""
        if not isinstance(node, dict) or len(node) != 1:
            raise BadQuery(f"a filter is one operator, not {node!r}")
        ((operator, argument),) = node.items()
        if operator in ("_and", "_or"):
            for inner in argument:
                self._check(inner)
        elif operator == "_not":
            self._check(argument)
        elif operator == "_between":
            self._field(argument["_field"])
        elif operator not in OPERATORS or operator in self.unknown:
            raise BadQuery(f"unknown operator {operator}")
        else:
            self._field(argument["_field"])

    def _matches(self, case: object, node: dict) -> bool:
        """Whether the case passes the filter (checked first); a damaged case (a test's) passes whatever is asked."""
        ((operator, argument),) = node.items()
        if operator in ("_and", "_or"):
            return (all if operator == "_and" else any)(self._matches(case, inner) for inner in argument)
        if operator == "_not":
            return not self._matches(case, argument)
        value = case.get(argument["_field"]) if isinstance(case, dict) else None
        wanted = (argument["_from"], argument["_to"]) if operator == "_between" else argument["_value"]
        if type(value) is not type(wanted if operator != "_between" else wanted[0]):
            return True
        tests = {
            "_between": lambda: wanted[0] <= value < wanted[1],
            "_lt": lambda: value < wanted,
            "_lte": lambda: value <= wanted,
            "_gt": lambda: value > wanted,
            "_gte": lambda: value >= wanted,
            "_eq": lambda: value == wanted,
            "_ne": lambda: value != wanted,
            "_startsWith": lambda: value.startswith(wanted),
            "_endsWith": lambda: value.endswith(wanted),
            "_like": lambda: _like(value, wanted),
        }
        return tests[operator]()

    def _field(self, name: str) -> str:
        if name not in ("title", self.created):
            raise BadQuery(f"unknown field {name}")
        return name


def _sort_key(case: object, name: str) -> int:
    value = case.get(name) if isinstance(case, dict) else None
    return value if isinstance(value, int) else 0


def _range(text: str) -> tuple[int, int]:
    if text == "all":
        return 0, 1 << 62
    first, _, last = text.partition("-")
    return int(first), int(last)


def _json(status: int, body: object) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


def _like(value: str, wanted: str) -> bool:
    """TheHive's `_like` (ScalliGraph's InputFilter.like): a '*' at the start, the end or both is endsWith, startsWith
    or contains, by case; without one, equality."""
    first, last = wanted[:1] == "*", wanted[-1:] == "*"
    if first and last:
        return wanted[1:-1] in value
    if first:
        return value.endswith(wanted[1:])
    if last:
        return value.startswith(wanted[:-1])
    return value == wanted
