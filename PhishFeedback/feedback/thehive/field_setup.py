"""What thehive_setup.py must do to TheHive's verdict custom field, decided from what TheHive already holds.

TheHive 4 and 5 name things differently (docs/thehive-setup.md): TheHive 5's v1 API calls the
internal name `name` and takes the options; TheHive 4.1's v1 create drops `options`, so there the
v0 routes are used, where `reference` is the internal name and `name` the one shown. The internal
name is what the responder's `custom_field` item names. Pure functions: the HTTP is in admin_api.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from feedback.case import VERDICTS, verdict_named
from feedback.errors import CommandError
from feedback.redaction import scrub, shortened
from feedback.shapes import shape
from feedback.shown_text import escaped

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

FIELD_TYPE = "string"
# A name TheHive's field editor takes: an empty one, or a dotted path, would make a field nobody can name in a case
# template, nor the dashboard read.
FIELD_NAME = r"[A-Za-z][A-Za-z0-9_-]*"
NAMING = "a letter, then letters, digits, '_' or '-'"
# TheHive 5 shows custom fields by group in its admin pages.
GROUP = "PhishFeedback"
DESCRIPTION = "The SOC's verdict on a reported e-mail; the Phish_Feedback responder tells the reporters."
# The longest major version read as a number.
MAJOR_DIGITS = 4
# How much of what TheHive lists a sentence quotes: the first options, each value cut at so many characters.
LISTED, QUOTED = 10, 80


@shape
class Routes:
    list: str
    create: str
    patch: str  # with {id}


ROUTES = {
    4: Routes("/api/customField", "/api/customField", "/api/customField/{id}"),
    5: Routes("/api/v1/customField", "/api/v1/customField", "/api/v1/customField/{id}"),
}


@shape
class Field:
    id: str
    name: str  # the internal name, the key of the case's custom fields
    type: str
    options: tuple
    shown: str  # the name TheHive shows (4's v0 `name`, 5's `displayName`)


@shape
class Step:
    method: str | None  # None: nothing to change
    path: str
    body: dict | None
    said: str  # what happened, once the call succeeded


def edition(status: object) -> int:
    """4 or 5, from TheHive's GET /api/v1/status: {"versions": {"TheHive": "4.1.24-1"}}."""
    versions = status.get("versions") if isinstance(status, dict) else None
    version = versions.get("TheHive") if isinstance(versions, dict) else None
    major = version.split(".")[0] if isinstance(version, str) else ""
    # Read as a number only when it is one a version can be: int() refuses past 4,300 digits.
    if not (major.isascii() and major.isdigit() and len(major) <= MAJOR_DIGITS):
        raise CommandError(
            "TheHive did not say its version at /api/v1/status. Check that --url points at TheHive 4 or 5."
            " Nothing was changed."
        )
    if int(major) < 4:
        raise CommandError(
            f"TheHive {major} is older than 4, whose custom-field API this script does not speak. Create the field"
            " by hand (docs/thehive-setup.md). Nothing was changed."
        )
    return min(int(major), 5)


def read_fields(answer: object, major: int) -> list[Field]:
    """The custom fields in TheHive's list, in either edition's shape."""
    if not isinstance(answer, list):
        raise CommandError("TheHive did not answer with a list of custom fields. Check that --url points at TheHive.")
    identity = ("id", "reference") if major == 4 else ("_id", "name")
    shown = "name" if major == 4 else "displayName"
    fields = []
    for item in answer:
        # A field is known by its name; its id, a text or a number, is only needed to add options to it.
        if isinstance(item, dict) and isinstance(item.get(identity[1]), str):
            options = item.get("options")
            fields.append(
                Field(
                    id=str(key) if type(key := item.get(identity[0])) in (str, int) else "",  # not a bool
                    name=item[identity[1]],
                    type=str(item.get("type")),
                    options=tuple(options) if isinstance(options, list) else (),
                    shown=item[shown] if isinstance(item.get(shown), str) else "",
                )
            )
    return fields


def plan(fields: list[Field], major: int, name: str) -> Step:
    """Create the field, add the verdicts it lacks (keeping its other options), or nothing."""
    routes = ROUTES[major]
    existing = next((field for field in fields if field.name == name), None)
    # Shown alike, or named alike but for capitals: another would be the same field to whoever reads it.
    alike = next((field for field in fields if name.lower() in (field.shown.lower(), field.name.lower())), None)
    if existing is None and alike is not None:
        advice = (
            f"Set the responder's custom_field item to '{alike.name}' and run this again with --field {alike.name}"
            " (or rename that field in TheHive)."
            if re.fullmatch(FIELD_NAME, alike.name)
            else f"That name is none this command takes ({NAMING}): rename or delete that field in TheHive, then run"
            " this again."
        )
        raise CommandError(
            f"TheHive already has a custom field shown as '{_quoted(alike.shown)}', whose internal name is"
            f" '{_quoted(alike.name)}': another would be shown alike in case templates and cases. Nothing was changed."
            f" {advice}"
        )
    if existing is None:
        return Step(
            "POST",
            routes.create,
            _creation(major, name),
            f"Created the {FIELD_TYPE} custom field '{name}' with the options {_listed(VERDICTS)}."
            " Add it to your phishing case template.",
        )
    if existing.type != FIELD_TYPE:
        raise CommandError(
            f"TheHive already has a custom field '{name}' of type '{_quoted(existing.type)}', but the verdict needs a"
            f" {FIELD_TYPE} field. Nothing was changed. Delete or rename that field in TheHive, or run this"
            " again with --field and another name, and set the responder's custom_field item to that name."
        )
    offered = {verdict_named(option) for option in existing.options if isinstance(option, str)}
    missing = [verdict for verdict in VERDICTS if verdict not in offered]
    if not missing:
        return Step(
            None,
            "",
            None,
            f"Nothing changed: the custom field '{name}' is already a {FIELD_TYPE} field with the options"
            f" {_listed(existing.options)}.",
        )
    if not existing.id:
        raise CommandError(
            f"TheHive listed the custom field '{name}' without an id, which adding its options needs. Nothing was"
            f" changed. Add {_listed(missing)} to its options in TheHive's admin pages."
        )
    options = [*existing.options, *missing]
    kept = f" (kept {_listed(existing.options)})" if existing.options else ""
    return Step(
        "PATCH",
        routes.patch.format(id=quote(existing.id, safe="")),  # TheHive's id, one path segment whatever it holds
        {"options": options},
        f"Added {_listed(missing)} to the options of the custom field '{name}'{kept}.",
    )


def _creation(major: int, name: str) -> dict:
    common = {"description": DESCRIPTION, "type": FIELD_TYPE, "mandatory": False, "options": list(VERDICTS)}
    if major == 4:
        return {"name": name, "reference": name, **common}
    return {"name": name, "displayName": name, "group": GROUP, **common}


def _listed(options: Sequence[str]) -> str:
    """The first few, each as `_quoted`: TheHive may list any number, of any size."""
    more = f" and {len(options) - LISTED} more" if len(options) > LISTED else ""
    return ", ".join(f"'{_quoted(option)}'" for option in options[:LISTED]) + more


def _quoted(value: object) -> str:
    """What TheHive sent, fit for a sentence: no secret it may echo, its control characters escaped, cut short."""
    return shortened(escaped(scrub(str(value))), QUOTED)
