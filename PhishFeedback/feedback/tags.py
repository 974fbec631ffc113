"""Case tags: reading `namespace:value` tags and writing the record of who was notified.

The record lives in the case itself, as tags TheHive adds after the job, so that it survives
re-runs, needs no store of its own and can be read (and corrected) by an analyst.
"""

from __future__ import annotations

from collections.abc import Iterable

NOTIFIED = "feedback_sent"
UNREACHED = "feedback_failed"
TAG_OPERATION = {"case": "AddTagToCase", "alert": "AddTagToAlert"}


def tag_values(tags: Iterable[object], namespace: str) -> list[str]:
    """Values of the namespace's tags in every form TheHive 4 writes them: ns:v, ns=v, ns="v"."""
    prefix = namespace.lower()
    values = []
    for tag in tags:
        if not isinstance(tag, str):
            continue
        text = tag.strip()
        if text[: len(prefix)].lower() != prefix or text[len(prefix) : len(prefix) + 1] not in (":", "="):
            continue
        value = text[len(prefix) + 1 :].strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1].strip()
        values.append(value)
    return values


def notified_addresses(tags: Iterable[object]) -> set[str]:
    return {value.lower() for value in tag_values(tags, NOTIFIED)}


def record_operations(
    kind: str, notified: Iterable[str], unreached: Iterable[str], sent_tag: str, failed_tag: str
) -> list[dict[str, str]]:
    """The tags that tell TheHive (and the next run) who got the message and who did not."""
    operation = TAG_OPERATION[kind]
    notified, unreached = list(notified), list(unreached)
    tags = [f"{NOTIFIED}:{address}" for address in notified] + [f"{UNREACHED}:{address}" for address in unreached]
    if notified:
        tags.append(sent_tag)
    if unreached:
        tags.append(failed_tag)
    return [{"type": operation, "tag": tag} for tag in tags]
