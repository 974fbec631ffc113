"""The record a job leaves in TheHive, as the tests compare it: each record's time checked, then written `<time>`.

A verdict message is recorded `feedback_sent:<address>` with `feedback_verdict:<time>;<verdict>;<address>`
beside it, an acknowledgement `feedback_ack:<address>` with `feedback_ack_at:<time>;<address>`
(docs/thehive-tags.md). The time is when the service accepted the message, so it lies within the job's
run: from the job folder's input, written just before the job starts, to the output the job writes last.
"""

from __future__ import annotations

from datetime import datetime, timezone

from testkit.cortex import JobResult

TIME = "<time>"
TIMED = ("feedback_verdict:", "feedback_ack_at:")
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def untimed(result: JobResult) -> list[str]:
    """The job's tags in their order, each record's time checked (its form, within the run) and written TIME."""
    started, ended = _run(result)
    tags = []
    for tag in result.tags:
        namespace = next((n for n in TIMED if tag.startswith(n)), None)
        if namespace is None:
            tags.append(tag)
            continue
        value = tag[len(namespace) :]
        quote = '"' if value.startswith('"') else ""
        time, separator, rest = value[len(quote) :].partition(";")
        at = datetime.strptime(time, TIME_FORMAT).replace(tzinfo=timezone.utc)
        assert separator and started <= at <= ended, f"{tag}: its time is not within the job's run ({started}, {ended})"
        tags.append(f"{namespace}{quote}{TIME};{rest}")
    return tags


def told(verdict: str, *addresses: str) -> list[str]:
    """The record of a verdict message to each address, untimed: `feedback_sent:` with `feedback_verdict:` beside it."""
    return [
        _tag(ns, v)
        for a in addresses
        for ns, v in (("feedback_sent", a), ("feedback_verdict", f"{TIME};{verdict};{a}"))
    ]


def acknowledged(*addresses: str) -> list[str]:
    """The record of an acknowledgement to each address, untimed."""
    return [_tag(ns, v) for a in addresses for ns, v in (("feedback_ack", a), ("feedback_ack_at", f"{TIME};{a}"))]


def _tag(namespace: str, value: str) -> str:
    """A value holding '=' is written in quotes, so that TheHive 4.0 keeps it whole (docs/thehive-tags.md)."""
    return f'{namespace}:"{value}"' if "=" in value else f"{namespace}:{value}"


def _run(result: JobResult) -> tuple[datetime, datetime]:
    """From the second the job's input was written to the moment its output was."""
    started = (result.job / "input" / "input.json").stat().st_mtime
    ended = (result.job / "output" / "output.json").stat().st_mtime
    moment = datetime.fromtimestamp(int(started), timezone.utc)
    return moment, datetime.fromtimestamp(ended, timezone.utc)


def notified(result: JobResult) -> list[str]:
    """Whom the job reports as mailed, in its order."""
    return [n["address"] for n in result.output["full"]["notified"]]


def failed(result: JobResult) -> dict[str, str]:
    """Whom the job could not mail, and why."""
    return {f["address"]: f["reason"] for f in result.output["full"]["failed"]}


def unsure(result: JobResult) -> dict[str, str]:
    """Whose message the service had whole and never answered, and how that came: it may have gone."""
    return {f["address"]: f["reason"] for f in result.output["full"]["unsure"]}
