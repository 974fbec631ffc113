"""TheHive's list of the responder actions on a case, as a job under the docker or Kubernetes runner reads it.

TheHive 4.1 (`OutputAction`, docs/cortex-and-thehive.md §5b): no `_id`, dates in epoch milliseconds, `objectType`
capitalised, `operations` and `report` as JSON in strings, `endDate` only once the action ended; the same through
`POST /api/v1/query` (`getCase` → `actions`) and `GET /api/connector/cortex/action/case/<id>`. TheHive 3.5 adds its
entity's `_id`, `id` and `createdAt` and keeps `objectType` as the caller wrote it; TheHive 5 adds `_id`, `_type`,
`_createdBy` and `_createdAt`.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time

from werkzeug import Request, Response

V1 = "/api/v1/query"
# TheHive 5.8's list, a page at a time (pageFrom, pageTo), and TheHive 5.6's, whole (docs/cortex-and-thehive.md §5b).
EXECUTIONS = "/api/v1/responder-execution/case/{id}"
V1_CONNECTOR = "/api/v1/connector/cortex/action/case/{id}"
LEGACY = "/api/connector/cortex/action/case/{id}"
RESPONDER = "Phish_Feedback_1_2"
CORTEX_JOB_FOLDER = "cortex-job-{job}-4611686018427387904"


def now_ms() -> int:
    return int(time.time() * 1000)


def action(
    job: str,
    started: int,
    *,
    ended: int | None = None,
    status: str | None = None,
    tags=(),
    responder: str = RESPONDER,
    case_id: str = "~41160752",
) -> dict:
    """One action as TheHive 4.1 lists it; ended (at `ended`, in milliseconds) with its tags added, or waiting.
    `responder`: the responder's definition in Cortex, whose id there is made of it, as it is of one Cortex."""
    operations = [{"type": "AddTagToCase", "tag": tag, "status": "Success", "message": "Success"} for tag in tags]
    found = {
        "responderId": hashlib.md5(responder.encode()).hexdigest(),
        "responderName": responder,
        "responderDefinition": responder,
        "cortexId": "local",
        "cortexJobId": job,
        "objectType": "Case",
        "objectId": case_id,
        "status": status or ("Waiting" if ended is None else "Success"),
        "startDate": started,
        "operations": json.dumps(operations),
        "report": "{}" if ended is None else json.dumps({"success": True, "operations": []}),
    }
    if ended is not None:
        found["endDate"] = ended
    return found


def thehive35(found: dict) -> dict:
    """The same action as TheHive 3.5 lists it: an entity of its own, `objectType` as the caller wrote it, and each
    operation without its `type` (3.5.2's `actionOperationWrites` writes the case class's fields alone)."""
    operations = [{k: v for k, v in o.items() if k != "type"} for o in json.loads(found["operations"])]
    return {
        **found,
        "_id": f"AW{found['cortexJobId']}",
        "id": f"AW{found['cortexJobId']}",
        "_type": "action",
        "objectType": "case",
        "operations": json.dumps(operations),
        "createdBy": "analyst@soc.example.org",
        "createdAt": found["startDate"],
    }


def thehive5(found: dict, *, as_examples: bool = False) -> dict:
    """The same action as TheHive 5 lists it: an entity of its own (5.6.2's `OutputAction`). `as_examples`: with the
    definition as an object and the operations as a list, as the examples of TheHive 5.8's API documentation show
    them (its schema still says strings)."""
    listed = {
        "_id": f"~{found['startDate']}",
        "_type": "Action",
        "_createdBy": "analyst@soc.example.org",
        "_createdAt": found["startDate"],
        **found,
    }
    if as_examples:
        listed["responderDefinition"] = {"name": found["responderDefinition"], "version": "1.2"}
        listed["operations"] = json.loads(found["operations"])
    return listed


class Actions:
    """The case's actions as TheHive holds them, which a test changes while a job reads them (`end`)."""

    def __init__(self, *found: dict, page_size: int | None = None, paged: bool = True) -> None:
        self.found = list(found)
        self.asked = 0
        self.down = False  # TheHive answers every listing with a server error
        # A list a page at a time (pageFrom, pageTo): at most `page_size` a page whatever was asked; `paged` False,
        # the whole list whatever was asked.
        self.page_size, self.paged = page_size, paged
        self._lock = threading.Lock()

    def end(self, job: str, tags=()) -> None:
        """TheHive had the job's report: its tags added and the action marked ended, in one transaction."""
        with self._lock:
            self.found = [
                action(job, a["startDate"], ended=now_ms(), tags=tags, responder=a["responderDefinition"])
                if a["cortexJobId"] == job
                else a
                for a in self.found
            ]

    def answer(self, request: Request) -> Response:
        with self._lock:
            self.asked += 1
            listed = list(self.found)
        if self.down:
            return Response("", status=503)
        if request.method == "POST":
            page = json.loads(request.data)["query"][-1]
            listed = listed[page["from"] : page["to"]]
        elif "pageFrom" in request.args and self.paged:
            start = int(request.args["pageFrom"])
            listed = listed[start : min(int(request.args["pageTo"]), start + (self.page_size or len(listed)))]
        return Response(json.dumps(listed), content_type="application/json")
