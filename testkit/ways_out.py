"""Each `delivery` value as the suite sends through it: the items that point a job at its loopback server, and what
that server took. A way out added to the responder fails every test that takes `way_out` until it is described here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage

import pytest

from feedback.settings import WAYS_OUT


@dataclass(frozen=True)
class LoopbackWayOut:
    delivery: str
    items: dict  # beside the suite's SMTP items, which every job has
    accepted: Callable[[], list[EmailMessage]]  # the messages the loopback server took, in order


def _smtp(request) -> LoopbackWayOut:
    smtp = request.getfixturevalue("smtp")
    return LoopbackWayOut("smtp", {}, lambda: [delivered.message for delivered in smtp.delivered])


def _graph(request) -> LoopbackWayOut:
    graph = request.getfixturevalue("graph")
    return LoopbackWayOut("graph", request.getfixturevalue("graph_items"), lambda: list(graph.accepted))


def _gmail(request) -> LoopbackWayOut:
    gmail_api = request.getfixturevalue("gmail_api")
    items = request.getfixturevalue("gmail_items")
    return LoopbackWayOut("gmail", items, lambda: [sent.message for sent in gmail_api.sent])


LOOPBACK = {"smtp": _smtp, "graph": _graph, "gmail": _gmail}


@pytest.fixture(params=sorted(WAYS_OUT))
def way_out(request) -> LoopbackWayOut:
    """Every way out the responder offers, each in turn."""
    if request.param not in LOOPBACK:
        pytest.fail(f"No loopback server here takes what delivery '{request.param}' sends: add it to LOOPBACK.")
    return LOOPBACK[request.param](request)
