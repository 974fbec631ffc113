"""What TheHive 4.0 does to a tag: parse it into (namespace, predicate, value), show it rendered back.

A Python port, written for the tests, of TheHive 4.0.5's `Tag.fromString` and `Tag.toString`
(thehive/app/org/thp/thehive/models/Tag.scala), with its default namespace `_autocreate` and
colour `#000000` (thehive/conf/reference.conf, `tags`). TheHive 4.0 stores every tag it is given
(by an analyst, an alert feeder, or a responder's AddTagToCase/AddTagToAlert) parsed, and every v0
answer, the job Cortex receives included, shows `toString` of it. TheHive 4.1's schema upgrade
writes that same rendering into the `tags` of existing cases and alerts
(TheHiveSchemaDefinition.scala, "Add tags … in cases"), so `rendered` is also what an upgraded 4.1
holds. See docs/cortex-and-thehive.md §4.

Scala's `Regex` extractors match the whole string, as `re.fullmatch` does; Java's `String.trim`
strips every character up to U+0020, and `.` stops at Java's line terminators.
"""

from __future__ import annotations

import re
from typing import NamedTuple

DEFAULT_NAMESPACE = "_autocreate"
DEFAULT_COLOUR = 0

_TAG_COLOUR = re.compile(r"([^\n\r\u0085\u2028\u2029]*)#([0-9A-Fa-f]{6})")
_NAMESPACE_PREDICATE_VALUE = re.compile(r'([^".:=]+)[.:]([^".=]+)="?([^"]+)"?')
_NAMESPACE_PREDICATE = re.compile(r'([^".:=]+)[.]([^".=]+)')
_PREDICATE_VALUE = re.compile(r'([^".:=]+)[=:]"?([^"]+)"?')
_PREDICATE = re.compile(r'([^".:=]+)')


class Tag(NamedTuple):
    namespace: str
    predicate: str
    value: str | None
    colour: int


def _trim(text: str) -> str:
    """Java's String.trim: every character up to U+0020 goes, other white space stays."""
    start, end = 0, len(text)
    while start < end and text[start] <= " ":
        start += 1
    while end > start and text[end - 1] <= " ":
        end -= 1
    return text[start:end]


def parse(tag_name: str, default_namespace: str = DEFAULT_NAMESPACE) -> Tag:
    """Tag.fromString: the first of the four patterns that matches the whole name wins."""
    coloured = _TAG_COLOUR.fullmatch(tag_name)
    name, colour = (coloured.group(1), int(coloured.group(2), 16)) if coloured else (tag_name, DEFAULT_COLOUR)
    match = _NAMESPACE_PREDICATE_VALUE.fullmatch(name)
    if match and any(c != "=" for c in match.group(3)):
        namespace, predicate, value = match.groups()
        return Tag(_trim(namespace), _trim(predicate), _trim(value), colour)
    match = _NAMESPACE_PREDICATE.fullmatch(name)
    if match:
        return Tag(_trim(match.group(1)), _trim(match.group(2)), None, colour)
    match = _PREDICATE_VALUE.fullmatch(name)
    if match:
        return Tag(default_namespace, _trim(match.group(1)), _trim(match.group(2)), colour)
    match = _PREDICATE.fullmatch(name)
    if match:
        return Tag(default_namespace, _trim(match.group(1)), None, colour)
    return Tag(default_namespace, name, None, colour)


def render(tag: Tag) -> str:
    """Tag.toString: a namespace or predicate that starts with '_' (or is empty) is left out."""
    namespace = "" if tag.namespace[:1] in ("", "_") else tag.namespace + ":"
    predicate = "" if tag.predicate[:1] in ("", "_") else tag.predicate
    value = "" if tag.value is None else f'="{tag.value}"'
    return namespace + predicate + value


def rendered(tag_name: str) -> str:
    """The tag as TheHive 4.0 shows it (and sends it to Cortex) once it was added as `tag_name`."""
    return render(parse(tag_name))


def stored(thehive_object: dict, operations: list[dict]) -> dict:
    """The case or alert after TheHive 4.0 applied the job's tag operations."""
    tags = list(thehive_object.get("tags", []))
    for operation in operations:
        if operation.get("type") in ("AddTagToCase", "AddTagToAlert"):
            tag = rendered(operation["tag"])
            if tag not in tags:
                tags.append(tag)
    return dict(thehive_object, tags=tags)
