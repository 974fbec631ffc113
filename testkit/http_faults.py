"""What a loopback mail API does in place of its usual answer, scripted alike for every service (Microsoft Graph's
sendMail, the Gmail API's send), so that one test of what every HTTP way out promises runs against each
(tests/test_http_ways_out.py).

A step is either a `Reply`, answered in the service's place (its error, a proxy's page): the message is not taken;
or a `Fault` around the service's own answer: it takes the message, then answers late, cut short, after an interim
answer or with a head no client reads; or the
connection closes before it sees the message, or after it took it; or it is reset while the message is still on its
way (`reset_at_head`, which the server asks before it reads a request's body).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from testkit.https_server import Received, Reply


@dataclass(frozen=True)
class Fault:
    stall: float = 0.0  # the service takes the message, then answers this many seconds late
    cut: bool = False  # the service takes the message; its answer breaks off after the head
    drop: bool = False  # the connection closes with no answer; the message is not taken
    taken: bool = False  # with `drop`: the service takes the message first
    reset: bool = False  # the connection is reset once the request's head is read, before its body: nothing taken
    hints: bool = False  # the service takes the message; its answer comes after an interim `103 Early Hints`
    long_head: bool = False  # the service takes the message; its answer's head holds a line past what clients read
    untyped: bool = False  # the answer comes without its Content-Type, as a middlebox may strip it
    two_lengths: bool = False  # the service takes the message; its answer's head gives two lengths that disagree


AS_USUAL = Fault()
DROPPED = Fault(drop=True)
TAKEN_THEN_DROPPED = Fault(drop=True, taken=True)
CUT_SHORT = Fault(cut=True)
CUT_SHORT_UNTYPED = Fault(cut=True, untyped=True)
RESET_AT_HEAD = Fault(reset=True)
EARLY_HINTS = Fault(hints=True)
LONG_HEAD = Fault(long_head=True)
TWO_LENGTHS = Fault(two_lengths=True)


def stalled(seconds: float) -> Fault:
    return Fault(stall=seconds)


def reset_at_head(head: Received, script: list) -> bool:
    """Whether a request (a send: a POST) is to be reset once its head is read: the script's next step says so, and
    is used up."""
    if head.method == "POST" and script and isinstance(script[0], Fault) and script[0].reset:
        script.pop(0)
        return True
    return False


def answered(step: Reply | Fault | None, take: Callable[[], Reply]) -> Reply:
    """The answer to one request: `step`'s, or, for a fault or None, what `take` (the service, doing what it does
    with the request) answers, with the fault around it."""
    if isinstance(step, Reply):
        return step
    step = step or AS_USUAL
    if step.drop:
        if step.taken:
            take()
        return Reply(0, drop=True)
    reply = replace(take(), hints=step.hints)
    if step.long_head:  # a front end's cookie or trace header past http.client's 64 kB a line
        reply = replace(reply, headers={**reply.headers, "Set-Cookie": "trace=" + "a" * 70_000})
    if step.two_lengths:  # beside the server's own Content-Length, of the body it sends
        reply = replace(reply, headers={**reply.headers, "content-length": str(len(reply.body) + 1)})
    if step.untyped:
        reply = replace(reply, headers={k: v for k, v in reply.headers.items() if k.lower() != "content-type"})
    time.sleep(step.stall)
    if step.cut:
        # An answer without a body (Graph's 202) gets one, announced whole, so that the break comes after the head.
        body = reply.body or b'{"status": "taken"}'
        reply = replace(reply, body=body, cut=len(body) // 2)
    return reply


def page(status: int, html: str) -> Reply:
    """A page something between Cortex and the service answers in its place (a proxy's block page, its own 413)."""
    return Reply(status, html.encode(), {"Content-Type": "text/html; charset=utf-8"})
