"""TheHive's answers to the observable queries, in TheHive 4.1/5 (v1) and TheHive 3/4 (legacy) shapes, and a hostile
one's (a gzip bomb).

See docs/cortex-and-thehive.md §5.
"""

from __future__ import annotations

import gzip
import itertools
import zlib

API_KEY = "hive-Sup3rS3cretApiKey-0123456789"
_ids = itertools.count(1000)
CREATED = 1693412835689


def v1_observable(data_type: str, data: str | None, tags=()) -> dict:
    """An observable as TheHive 5's /api/v1/query returns it; files have no `data`."""
    observable = {
        "_id": f"~{next(_ids)}",
        "_type": "Observable",
        "_createdBy": "collector@soc.example.org",
        "_createdAt": CREATED,
        "dataType": data_type,
        "startDate": CREATED,
        "tlp": 2,
        "tlpLabel": "AMBER",
        "pap": 2,
        "papLabel": "AMBER",
        "tags": list(tags),
        "ioc": False,
        "sighted": False,
        "message": "from the mail collector",
        "reports": {},
        "extraData": {},
        "ignoreSimilarity": False,
    }
    if data is not None:
        observable["data"] = data
    return observable


def legacy_observable(data_type: str, data: str | None, tags=()) -> dict:
    """An artifact as TheHive 3/4's /api/case/artifact/_search returns it."""
    identifier = f"~{next(_ids)}"
    artifact = {
        "_id": identifier,
        "id": identifier,
        "_type": "case_artifact",
        "_routing": "~41160752",
        "_parent": "~41160752",
        "_version": 1,
        "dataType": data_type,
        "tlp": 2,
        "ioc": False,
        "sighted": False,
        "message": "from the mail collector",
        "tags": list(tags),
        "startDate": CREATED,
        "status": "Ok",
        "reports": {},
        "stats": {},
        "createdBy": "collector@soc.example.org",
        "createdAt": CREATED,
    }
    if data is not None:
        artifact["data"] = data
    return artifact


def legacy_alert_answer(alert: dict, observables: list[dict]) -> dict:
    """TheHive 3/4's answer to GET /api/alert/<id>: the alert with its observables in `artifacts`."""
    return dict(alert, artifacts=observables)


def v1_alert(source_ref: str, tags=(), case_id: str = "~8256") -> dict:
    """An alert merged into a case, as TheHive 5's /api/v1/query lists a case's `alerts`.

    TheHive 5's mail intake stores the received mail's Message-ID as `sourceRef` (docs/cortex-and-thehive.md §5).
    """
    identifier = f"~{next(_ids)}"
    return {
        "_id": identifier,
        "_type": "Alert",
        "_createdBy": "mail-intake@soc.example.org",
        "_createdAt": CREATED,
        "type": "email",
        "source": "phishing-mailbox",
        "sourceRef": source_ref,
        "title": "Phishing report: Invoice overdue",
        "description": "Reported through the phishing button.",
        "severity": 2,
        "severityLabel": "MEDIUM",
        "date": CREATED,
        "tags": list(tags),
        "tlp": 2,
        "tlpLabel": "AMBER",
        "pap": 2,
        "papLabel": "AMBER",
        "follow": True,
        "customFields": [],
        "observableCount": 2,
        "status": "Imported",
        "stage": "Imported",
        "caseId": case_id,
        "extraData": {},
        "newDate": CREATED,
        "importedDate": CREATED,
        "timeToDetect": 0,
    }


def gzip_bomb(inflated: int, times: int = 1) -> bytes:
    """A JSON list opened, then `inflated` bytes of spaces, gzip-compressed to about a thousandth of that, and that
    compressed again `times - 1` times over (`Content-Encoding: gzip, gzip`)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b" " * (1 << 20)
    parts = [packer.compress(b"[")] + [packer.compress(block) for _ in range(inflated >> 20)]
    bomb = b"".join([*parts, packer.compress(b"]"), packer.flush()])
    for _ in range(times - 1):
        bomb = gzip.compress(bomb, 9)
    return bomb
