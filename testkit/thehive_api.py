"""TheHive's answers to the observable queries, in TheHive 4.1/5 (v1) and TheHive 3/4 (legacy) shapes.

See docs/cortex-and-thehive.md §5.
"""

from __future__ import annotations

import itertools

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
