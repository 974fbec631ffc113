"""Case tags: reading `namespace:value` tags and writing the record of who was notified.

The record lives in the case itself, as tags TheHive adds after the job, so that it survives
re-runs, needs no store of its own and can be read (and corrected) by an analyst.

TheHive does not always give a tag back as it was added (docs/cortex-and-thehive.md §4): TheHive
4.0 parses `ns:value` and shows `ns="value"`, or, when the value holds a '=' (`bounce=foo@x.org`),
`ns:bounce="foo@x.org"`; TheHive 4.1's upgrade writes those forms into existing cases; 4.1 and 5
keep what was added. Every form is read here, and the record is written so that 4.0 keeps it whole.
"""

from __future__ import annotations

from collections.abc import Iterable

NOTIFIED = "feedback_sent"
UNREACHED = "feedback_failed"
# The acknowledgement flavour's own record: the verdict's feedback ignores it (docs/flavours.md).
ACKNOWLEDGED = "feedback_ack"
TAG_OPERATION = {"case": "AddTagToCase", "alert": "AddTagToAlert"}


def tag_values(tags: Iterable[object], namespace: str) -> list[str]:
    """Values of the namespace's tags in every form TheHive stores them: ns:v, ns=v, ns="v", ns:p="v"."""
    prefix = namespace.lower()
    values = []
    for tag in tags:
        if not isinstance(tag, str):
            continue
        text = tag.strip()
        if text[: len(prefix)].lower() != prefix or text[len(prefix) : len(prefix) + 1] not in (":", "="):
            continue
        values.append(_unrendered(text[len(prefix) + 1 :].strip()))
    return values


def _unrendered(value: str) -> str:
    """The value as it was added: TheHive 4.0's quotes dropped, its split at the first '=' joined again."""
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


def record_tag(namespace: str, address: str) -> str:
    """`ns:address`; quoted when the address holds a '=', which TheHive 4.0 would otherwise split (and,
    before a part that starts with '_', cut)."""
    if "=" in address and '"' not in address:
        return f'{namespace}:"{address}"'
    return f"{namespace}:{address}"


def record_operations(
    kind: str, notified: Iterable[str], unreached: Iterable[str], sent_tag: str, failed_tag: str
) -> list[dict[str, str]]:
    """The tags that tell TheHive (and the next run) who got the message and who did not."""
    operation = TAG_OPERATION[kind]
    notified, unreached = list(notified), list(unreached)
    tags = [record_tag(NOTIFIED, address) for address in notified] + [
        record_tag(UNREACHED, address) for address in unreached
    ]
    if notified:
        tags.append(sent_tag)
    if unreached:
        tags.append(failed_tag)
    return [{"type": operation, "tag": tag} for tag in tags]


def acknowledgement_operations(kind: str, acknowledged: Iterable[str]) -> list[dict[str, str]]:
    """Only the acknowledgement's record: sent_tag, failed_tag and `feedback_failed` speak of the verdict's feedback.

    A reporter it did not reach has no record, so the next run tries them again.
    """
    return [{"type": TAG_OPERATION[kind], "tag": record_tag(ACKNOWLEDGED, address)} for address in acknowledged]
