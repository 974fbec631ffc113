"""Reading the case (or alert) TheHive sent into the facts the responder acts on.

TheHive 3, 4 and 5 send the same case in different shapes (docs/cortex-and-thehive.md §4); all of them are
folded here into one `Report`, so nothing further down knows which version sent it.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from feedback.errors import PhishFeedbackError
from feedback.flavours import VERDICT_FLAVOUR, VERDICT_ITEMS
from feedback.redaction import shortened
from feedback.shapes import shape
from feedback.shown_text import one_line, printable

# Without importing typing, which a plain job never needs (docs/performance.md).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

VERDICTS = tuple(VERDICT_ITEMS)
DATA_TYPES = {"thehive:case": "case", "thehive:alert": "alert"}
SHOWN_FIELDS = 10  # custom fields of the case named when custom_field names none of them
# The keys under which TheHive 4's v0 JSON stores a custom field's value, one per field type.
VALUE_KEYS = ("string", "integer", "float", "boolean", "date", "number")
SUBJECT_SEPARATORS = " \t:-–—|"
# What a mail system or a forwarding reporter puts before a report's title: [tags] ([EXT], [SPAM]) and
# reply or forward markers in the languages of the messages (RE, FW, Fwd, TR, WG, AW), any number of each.
TITLE_MARKER = r"(?:\[[^\[\]]*\]|(?:re|fwd?|tr|wg|aw)\s*:)"


class CaseError(PhishFeedbackError):
    """The case cannot be answered as it stands; the message says what the analyst should change."""


@shape
class Observable:
    data_type: str
    data: str
    tags: tuple[str, ...]


@shape
class Report:
    """A phishing report, from a case or an alert, as far as the feedback needs it."""

    kind: str
    id: str
    number: str
    title: str
    reported_subject: str
    created: datetime | None
    verdict: str
    tags: tuple[str, ...]
    artifacts: tuple[Observable, ...]


def read_report(
    data: object, data_type: object, custom_field: str, title_prefix: str, flavour: str = VERDICT_FLAVOUR
) -> Report:
    """The report; the acknowledgement needs no verdict, so there `verdict` is '' whatever the field holds."""
    kind = DATA_TYPES.get(data_type) if isinstance(data_type, str) else None
    if kind is None:
        raise CaseError("Phish_Feedback runs on TheHive cases and alerts only (thehive:case, thehive:alert).")
    if not isinstance(data, dict):
        raise CaseError(f"The job carries no {kind}: Cortex sent no object to answer.")
    if kind == "alert" and (case := _text(data.get("case") or data.get("caseId"))):
        # TheHive copies an alert's tags into its case once, at the import: the record of a run on the alert after
        # that never reaches the case, whose run would mail the same reporters again.
        raise CaseError(
            f"This alert was imported or merged into TheHive case {shortened(case, 40)}: run Phish_Feedback on that"
            " case. The record of whom it mails is kept on the case, which a run on the alert does not reach."
        )
    title = data.get("title")
    if not isinstance(title, str) or not title.strip():
        raise CaseError(f"The {kind} has no title, so it cannot be recognised as a phishing report.")
    reported = reported_part(title, title_prefix)
    if reported is None:
        raise CaseError(
            f"Phish_Feedback only answers phishing reports: the {kind} title must start with"
            f" '{title_prefix}', after any [tags] and reply or forward markers (RE:, FW:, Fwd:, TR:, WG:, AW:);"
            f" it is '{shortened(title, 80)}'."
            f" Run it on a reported phishing {kind}, or ask the Cortex admin to change title_prefix."
        )
    tags = data.get("tags")
    return Report(
        kind=kind,
        id=_text(data.get("_id") or data.get("id")),
        number=one_line(_text(data.get("caseId") or data.get("number") or _known_reference(data.get("sourceRef")))),
        title=one_line(title),
        reported_subject=one_line(reported.lstrip(SUBJECT_SEPARATORS)),
        created=_date(data.get("startDate") or data.get("date") or data.get("createdAt")),
        verdict=_verdict(data, custom_field, kind) if flavour == VERDICT_FLAVOUR else "",
        tags=_strings(tags),
        artifacts=tuple(_observables(data.get("artifacts"))) if kind == "alert" else (),
    )


def reported_part(title: str, prefix: str) -> str | None:
    """What follows the prefix in a report's title; None when the title does not carry the prefix.

    The prefix is found at the start, case-insensitively, after any leading white space, tags and
    markers, or inside the first tag (`[Phishing report] Invoice`). An empty prefix (the item set to a
    single space) takes every title whole.
    """
    if not prefix:
        return title.lstrip()
    found = re.match(rf"\s*(?:{TITLE_MARKER}\s*)*(\[\s*)?{re.escape(prefix)}", title, re.IGNORECASE)
    if found is None:
        return None
    rest = title[found.end() :]
    # Inside a tag, the tag's end is no part of the subject.
    return rest.lstrip().removeprefix("]") if found.group(1) else rest


def is_report_title(title: str, prefix: str) -> bool:
    """Whether `reported_part` takes the title: at once where it begins with the prefix, as most do (the
    statistics ask this of a year's cases), else through the pattern of tags and markers."""
    return title.lstrip()[: len(prefix)].lower() == prefix.lower() or reported_part(title, prefix) is not None


def read_observables(items: object) -> list[Observable]:
    """Observables from TheHive's answer or an alert's `artifacts`; files (no `data`) are skipped."""
    return list(_observables(items))


def _verdict(data: dict, name: str, kind: str) -> str:
    value = field_value(data, name)
    accepted = ", ".join(f"'{v}'" for v in VERDICTS)
    if isinstance(value, list):
        # A multi-value field of TheHive 5: one value is the verdict, several are not one verdict.
        values = [v for v in value if v is not None and (not isinstance(v, str) or v.strip())]
        if len(values) > 1:
            held = ", ".join(f"'{shortened(str(v), 80)}'" for v in values[:5]) + (", …" if len(values) > 5 else "")
            raise CaseError(
                f"The custom field '{name}' holds several values ({held}); a reporter can be given only one"
                f" verdict. Keep one of {accepted} and run the responder again."
            )
        value = values[0] if values else None
    if isinstance(value, str) and value.strip():
        verdict = verdict_named(value)
        if verdict:
            return verdict
        raise CaseError(
            f"The custom field '{name}' holds '{shortened(value, 80)}', which is not a verdict this responder"
            f" knows. Set it to one of {accepted} and run the responder again."
        )
    names = _field_names(data)
    fold = _fold(name)
    near = next((n for n in names if n != name and _fold(n) == fold), None)
    if near:
        raise CaseError(
            f"The {kind} has the custom field '{near}'; custom_field is '{name}', a name that differs in case or"
            f" punctuation. Set custom_field to '{near}' (or give the field in TheHive the reference name '{name}'),"
            " then run the responder again."
        )
    if name not in names:
        raise CaseError(_no_such_field(name, names, kind, accepted))
    raise CaseError(f"Set the {kind}'s custom field '{name}' to one of {accepted}, then run the responder again.")


def _no_such_field(name: str, names: list[str], kind: str, accepted: str) -> str:
    """The analyst may well have set a verdict, in a field custom_field does not name: show which fields there are."""
    if not names:
        held = "it has no custom fields at all"
    else:
        shown = ", ".join(f"'{shortened(n, 40)}'" for n in names[:SHOWN_FIELDS])
        held = f"its custom fields are {shown}" + (
            f" and {len(names) - SHOWN_FIELDS} more" if len(names) > SHOWN_FIELDS else ""
        )
    return (
        f"The {kind} has no custom field '{name}' ({held}). If the verdict is in another field, ask the Cortex admin"
        f" to set custom_field to that field's reference name; otherwise add '{name}' to the {kind}, set it to one"
        f" of {accepted} and run the responder again."
    )


def verdict_named(value: str) -> str | None:
    """The verdict a field value names, however an analyst wrote its case and spaces."""
    wanted = " ".join(value.split()).lower()
    return next((verdict for verdict in VERDICTS if verdict.lower() == wanted), None)


def _field_names(data: dict) -> list[str]:
    """The names of the custom fields the case carries, set or not, in TheHive 5's flat map, 4's v0 map or a v1 list."""
    flat, fields = data.get("customFieldValues"), data.get("customFields")
    names = [*(flat if isinstance(flat, dict) else ()), *(fields if isinstance(fields, dict) else ())]
    names += [entry.get("name") for entry in (fields if isinstance(fields, list) else ()) if isinstance(entry, dict)]
    return list(dict.fromkeys(n for n in names if isinstance(n, str)))


def _fold(name: str) -> str:
    return "".join(c for c in name.lower() if c.isalnum())


def field_value(data: dict, name: str) -> object:
    """The custom field's value in TheHive 5's flat map, TheHive 4's v0 map or a v1 list."""
    flat = data.get("customFieldValues")
    if isinstance(flat, dict) and flat.get(name) is not None:
        return flat[name]
    fields = data.get("customFields")
    if isinstance(fields, dict):
        entry = fields.get(name)
        if isinstance(entry, dict):
            return next((entry[k] for k in (*VALUE_KEYS, "value") if entry.get(k) is not None), None)
        return entry
    if isinstance(fields, list):
        for entry in fields:
            if isinstance(entry, dict) and entry.get("name") == name:
                return entry.get("value")
    return None


def _observables(items: object) -> Iterator[Observable]:
    for item in items if isinstance(items, list) else ():
        if not isinstance(item, dict):
            continue
        data_type, data, tags = item.get("dataType"), item.get("data"), item.get("tags")
        if isinstance(data_type, str) and isinstance(data, str):
            yield Observable(data_type, printable(data), _strings(tags))


def _strings(tags: object) -> tuple[str, ...]:
    """The tags that are strings: TheHive never sends others, a hand-made or damaged job might."""
    return tuple(t for t in tags if isinstance(t, str)) if isinstance(tags, list) else ()


def _date(epoch_ms: object) -> datetime | None:
    if isinstance(epoch_ms, bool) or not isinstance(epoch_ms, (int, float)):
        return None
    try:
        return datetime.fromtimestamp(epoch_ms / 1000, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def _known_reference(source_ref: object) -> object:
    """An alert's reference; not the reported mail's Message-ID (TheHive 5's mail intake), no case to a reporter."""
    return None if isinstance(source_ref, str) and "@" in source_ref else source_ref


def _text(value: object) -> str:
    return printable(str(value)) if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
