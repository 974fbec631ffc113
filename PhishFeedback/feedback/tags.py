"""Case tags: reading `namespace:value` tags and writing the record of who was notified.

The record lives in the case itself, as tags TheHive adds after the job, so that it survives
re-runs, needs no store of its own and can be read (and corrected) by an analyst.

TheHive does not always give a tag back as it was added (docs/cortex-and-thehive.md §4): TheHive
4.0 parses `ns:value` and shows `ns="value"`, or, when the value holds a '=' (`bounce=foo@x.org`),
`ns:bounce="foo@x.org"`; TheHive 4.1's upgrade writes those forms into existing cases; 4.1 and 5
keep what was added. Every form is read here, and the record is written so that 4.0 keeps it whole.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from functools import cache, lru_cache

from feedback.shapes import shape

NOTIFIED = "feedback_sent"
UNREACHED = "feedback_failed"
# A verdict's message the service had whole and never answered: it may have gone, so no run mails that reporter again
# until an analyst who found it did not go removes the tag.
UNSURE = "feedback_unsure"
# The acknowledgement flavour's own record: the verdict's feedback ignores it (docs/flavours.md).
ACKNOWLEDGED = "feedback_ack"
# Beside those, what each reporter was told and when: `feedback_verdict:<time>;<verdict>;<address>` and
# `feedback_ack_at:<time>;<address>`. The address comes last, so that it may hold the separator.
TOLD = "feedback_verdict"
ACKNOWLEDGED_AT = "feedback_ack_at"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# How many ';'-separated fields each timed record holds (`verdict_tag`, `ack_time_tag`).
TIMED_FIELDS = {TOLD: 3, ACKNOWLEDGED_AT: 2}
# Each timed record's tag as the responder writes it, then as TheHive 4.0 shows it.
TIMED_TAGS = {namespace: (f"{namespace}:", f"{namespace}=") for namespace in TIMED_FIELDS}
TAG_OPERATION = {"case": "AddTagToCase", "alert": "AddTagToAlert"}


def tag_values(tags: Iterable[object], namespace: str) -> list[str]:
    """Values of the namespace's tags in every form TheHive stores them: ns:v, ns=v, ns="v", ns:p="v"."""
    prefix, size, unlike = _namespace(namespace)
    values = []
    for tag in tags:
        if not isinstance(tag, str) or tag[:1] in unlike:
            continue
        text = tag.strip()
        of_namespace = text.startswith(prefix) or text[:size].lower() == prefix  # lower case, as most are: no copy
        if not of_namespace or text[size : size + 1] not in (":", "="):
            continue
        value = text[size + 1 :].strip()
        values.append(_unrendered(value) if '"' in value else value)  # as TheHive 4.1 and 5 keep every tag
    return values


@lru_cache(maxsize=64)
def _namespace(namespace: str) -> tuple[str, int, frozenset[str]]:
    """The namespace in lower case, its length, and the first characters no tag of it can begin with, checked
    before any other work: most tags a reader sees are of other namespaces (the statistics read a few hundred
    thousand). Only ASCII ones, which lower to one character whatever follows; a tag beginning with white space or
    any other is read in full."""
    prefix = namespace.lower()
    first = prefix[:1] or ":="  # an empty namespace: the tag begins with its separator
    return prefix, len(prefix), frozenset(c for c in map(chr, range(128)) if not c.isspace() and c.lower() not in first)


def _unrendered(value: str) -> str:
    """The value as it was added, from one that holds a quote: TheHive 4.0's quotes dropped, its split at the first
    '=' joined again."""
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].strip()
    head, separator, tail = value.partition('="')
    if head and separator and tail.endswith('"') and not any(c in head for c in '"=') and '"' not in tail[:-1]:
        return f"{head}={tail[:-1]}"
    return value


def lost_by_thehive40(value: str) -> bool:
    """Whether TheHive 4.0 dropped the start of this value: before a '=', a part that began with '_'."""
    return value.startswith('="')


def notified_addresses(tags: Iterable[object], *namespaces: str) -> set[str]:
    """The addresses the record names, in lower case: those given the verdict, or those of the namespaces named."""
    return {value.lower() for namespace in namespaces or (NOTIFIED,) for value in tag_values(tags, namespace)}


@shape
class Told:
    """A verdict message a reporter was given (a correction is one too)."""

    address: str
    verdict: str
    at: datetime


def verdict_tag(address: str, verdict: str, at: datetime) -> str:
    return record_tag(TOLD, f"{_time(at)};{verdict};{address}")


def ack_time_tag(address: str, at: datetime) -> str:
    return record_tag(ACKNOWLEDGED_AT, f"{_time(at)};{address}")


def verdict_records(tags: Iterable[object]) -> list[Told]:
    """Every readable verdict record, in the tags' order; one a reader cannot parse is passed over."""
    return [Told(address.strip(), verdict.strip(), at) for at, (_, verdict, address) in timed_fields(tags, TOLD)]


def timed_records(tags: Iterable[object]) -> set[tuple[str, tuple[str, ...]]]:
    """Every readable timed record, in whatever form TheHive keeps its tag: its namespace and its fields in lower
    case, the time first, the address last. A job's records are told from another's by their times."""
    tags = list(tags)
    return {
        (ns, tuple(f.strip().lower() for f in fields)) for ns in TIMED_FIELDS for _, fields in timed_fields(tags, ns)
    }


def record_time(after: datetime | None = None) -> datetime:
    """The one clock of the record's times: UTC, to the second, as the tags keep them. A second after `after` where
    this clock reads no later: a reporter's new record must stay their last, although their earlier one may be dated
    by another Cortex host's clock, ahead of this one."""
    now = datetime.now(timezone.utc).replace(microsecond=0)
    return after + timedelta(seconds=1) if after is not None and now <= after else now


def timed_fields(tags: Iterable[object], namespace: str) -> list[tuple[datetime, tuple[str, ...]]]:
    """The readable timed records of the namespace, in the tags' order: the time, and the record's fields (the time
    first, the address last, none empty); one a reader cannot parse is passed over.

    A tag as the responder writes it, and TheHive 4.1 and 5 keep it, is its value after the namespace and ':'; any
    other form is read by `tag_values`. The statistics read a few hundred thousand such tags.
    """
    written, timed = TIMED_TAGS[namespace][0], []
    for tag in tags:
        if isinstance(tag, str) and tag.startswith(written) and '"' not in tag:
            value = tag[len(written) :].strip()
        elif values := tag_values((tag,), namespace):
            (value,) = values
        else:
            continue
        fields = _record_pattern(namespace).fullmatch(value)
        if fields is not None and (moment := _moment(fields[1])):
            timed.append((moment, fields.groups()))
    return timed


def _time(at: datetime) -> str:
    return at.astimezone(timezone.utc).strftime(TIME_FORMAT)


@cache
def _record_pattern(namespace: str) -> re.Pattern[str]:
    """The namespace's record as `verdict_tag` or `ack_time_tag` writes it: TIME_FORMAT's text (hours to 23, as
    `datetime` takes them), with white space around it, then the other fields, none empty, the last taking any ';'.

    Compiled on first use: a case answered for the first time holds no timed record (docs/performance.md).
    """
    time = r"[0-9]{4}-[0-9]{2}-[0-9]{2}T(?:[01][0-9]|2[0-3]):[0-9]{2}:[0-9]{2}Z"
    middle = ";([^;]+)" * (TIMED_FIELDS[namespace] - 2)
    return re.compile(rf"\s*({time})\s*{middle};(.+)", re.DOTALL)


def _moment(text: str) -> datetime | None:
    """The time `_record_pattern` matched, in UTC: strptime is slow, and the statistics read one a report."""
    try:
        return datetime.fromisoformat(f"{text[:-1]}+00:00")
    except ValueError:  # no such day
        return None


def record_tag(namespace: str, address: str) -> str:
    """`ns:address`; quoted when the address holds a '=', which TheHive 4.0 would otherwise split (and,
    before a part that starts with '_', cut)."""
    if "=" in address and '"' not in address:
        return f'{namespace}:"{address}"'
    return f"{namespace}:{address}"


def notified_tags(address: str, at: datetime, verdict: str | None) -> tuple[str, str]:
    """A reporter's record once the service accepted their message: the verdict's, or (None) the acknowledgement's."""
    if verdict is None:
        return record_tag(ACKNOWLEDGED, address), ack_time_tag(address, at)
    return record_tag(NOTIFIED, address), verdict_tag(address, verdict, at)


def record_operations(
    kind: str,
    verdict: str,
    notified: Mapping[str, datetime],
    unreached: Iterable[str],
    unsure: Iterable[str],
    sent_tag: str,
    failed_tag: str,
) -> list[dict[str, str]]:
    """The tags that tell TheHive (and the next run) who got the message, which verdict and when, who did not, and
    whose message may have gone.

    `notified`: each address and when the service accepted its message; `unreached`: the next run mails them;
    `unsure`: the service had their message whole and never answered, and no run mails them until the tag goes.
    """
    operation = TAG_OPERATION[kind]
    unreached = list(unreached)
    tags = [tag for address, at in notified.items() for tag in notified_tags(address, at, verdict)]
    tags += [record_tag(UNREACHED, address) for address in unreached]
    tags += [record_tag(UNSURE, address) for address in unsure]
    tags += closing_tags(sent_tag, failed_tag, reached=bool(notified), left=bool(unreached))
    return [{"type": operation, "tag": tag} for tag in tags]


def closing_tags(sent_tag: str, failed_tag: str, *, reached: bool, left: bool) -> list[str]:
    """The case's own tags after a verdict's messages: `sent_tag` once someone was mailed, `failed_tag` while
    someone is left, whom the next run mails (the final report, and the report a kill leaves, alike)."""
    return [tag for tag, due in ((sent_tag, reached), (failed_tag, left)) if due]


def maybe_reached(verdict: str | None) -> str:
    """What becomes of the reporters whose message may have gone, said by the final report and the report a kill
    leaves alike: the verdict's record keeps them; the acknowledgement (None) records only whom it reached."""
    if verdict is None:
        return "The next run acknowledges them again."
    return f"The case records them as {UNSURE}, and no run mails them again."


def acknowledgement_operations(kind: str, acknowledged: Mapping[str, datetime]) -> list[dict[str, str]]:
    """Only the acknowledgement's record: sent_tag, failed_tag and `feedback_failed` speak of the verdict's feedback.

    A reporter it did not reach has no record, so the next run tries them again.
    """
    tags = [tag for address, at in acknowledged.items() for tag in notified_tags(address, at, None)]
    return [{"type": TAG_OPERATION[kind], "tag": tag} for tag in tags]
