"""Reading the phishing-report cases from TheHive, page by page, into the statistics: the shell around tally.py.

Through the session thehive_setup.py uses (feedback/thehive/admin_api.py: the responder's trust, the
same bounded reader); only the advice differs, since reading cases needs no admin. A page is read,
counted and dropped before the next is asked for, and the number of pages is bounded by TheHive's own
count, so that a TheHive that ignores the range, or answers the same page for ever, ends the read
with a sentence rather than a loop.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator

from feedback.errors import CommandError
from feedback.http_failures import TooLarge
from feedback.shapes import replaced
from feedback.stats.decoding import decoded, page_decoded
from feedback.stats.facts import case_facts
from feedback.stats.queries import PAGE, Request, Window, count_request, counted, page_request
from feedback.stats.tally import Tally
from feedback.thehive.admin_api import ADVICE as SETUP_ADVICE
from feedback.thehive.admin_api import AdminApi
from feedback.thehive.field_setup import ROUTES, read_fields

# The set-up command's advice, but for the key: reading cases needs no admin.
ADVICE = replaced(
    SETUP_ADVICE,
    key="Put in THEHIVE_APIKEY the key of a user who may read the cases of the organisation (a read-only profile"
    " is enough), and give --organisation when that user has several.",
)
# Pages beyond TheHive's count: cases created while the read goes on.
SLACK = 2
# The most cases one run reads (hours of reading at a few thousand a second): a TheHive whose count is beyond it would
# otherwise be read, and the reporters it names kept, until --time-limit.
MOST_CASES = 10_000_000


class CaseApi(AdminApi):
    advice = ADVICE
    parse = staticmethod(decoded)
    # Its queries are POSTs, but they only read.
    reading = frozenset({"GET", "POST"})
    unfinished = {**AdminApi.unfinished, "read": "Nothing was counted."}


def statistics(
    api: AdminApi, field: str, title_prefix: str, span: Window, top: int, progress: Callable[[int, int], None]
) -> dict:
    """Ask which TheHive it is, check the field, count the cases, read them page by page: the statistics."""
    major = api.edition()
    check_field(api, major, field)
    count = counted(_ask(api, count_request(major, title_prefix, span)))
    if count is None:
        raise CommandError(f"TheHive at {api.settings.url} did not answer the count of cases with a number.")
    if count > MOST_CASES:
        raise CommandError(
            f"TheHive at {api.settings.url} counted {count:,} phishing-report cases, more than the {MOST_CASES:,}"
            " one run reads: narrow --since/--until. Nothing was counted."
        )
    tally = Tally()
    holds, add = span.holds, tally.add
    for case in cases(api, major, title_prefix, span, count, progress):
        facts = case_facts(case, field, title_prefix)
        if facts is not None and holds(facts.created):
            add(facts)
    result = tally.result(top, span.since, span.before)
    result["thehive"] = major
    return result


def check_field(api: AdminApi, major: int, field: str) -> None:
    """A field TheHive does not have is said at once, with the names it does have that come close."""
    names = [known.name for known in read_fields(api.call("GET", ROUTES[major].list), major)]
    if field in names:
        return
    near = difflib.get_close_matches(field, names, n=3, cutoff=0.6) or [
        name for name in names if name.lower() == field.lower()
    ]
    hint = f" Did you mean {' or '.join(repr(name) for name in near)}?" if near else ""
    raise CommandError(
        f"TheHive at {api.settings.url} has no custom field '{field}'.{hint} Give the field's internal name with"
        " --custom-field, as the responder's custom_field item names it."
    )


def cases(
    api: AdminApi, major: int, title_prefix: str, span: Window, count: int, progress: Callable[[int, int], None]
) -> Iterator[dict]:
    """Every case TheHive gives for the window, oldest first; a case a shifted page repeats is given once.

    A page over the bounded read's size (cases that hold whole mails) is asked again half as long; a page
    shorter than asked before TheHive's count is reached (a TheHive or a proxy that caps its pages) is read
    on from where it ends.
    """
    where = f"TheHive at {api.settings.url}"
    size, start, read, previous = PAGE, 0, 0, frozenset()
    while True:
        try:
            page = _ask(api, page_request(major, title_prefix, span, start, size), page_decoded)
        except CommandError as failure:
            if not isinstance(failure.__cause__, TooLarge) or size == 1:
                raise
            size //= 2
            continue
        if not isinstance(page, list):
            raise CommandError(
                f"{where} did not answer a page of cases with a list. Check that --url points at TheHive."
            )
        if len(page) > size:
            raise CommandError(
                f"{where} answered {len(page)} cases to a page of {size}: it ignores the range asked for, so the"
                " cases cannot be read page by page. Nothing was counted."
            )
        ids = frozenset(map(_id, page)) - {None}
        if ids and previous and ids <= previous:
            raise CommandError(
                f"{where} answered the same page of cases again (from case {start + 1}): it ignores the range asked"
                " for. Nothing was counted."
            )
        if previous.isdisjoint(ids):  # as a TheHive that pages asked for gives them
            read += len(page)
            yield from page
        else:
            for case in page:
                if _id(case) is None or _id(case) not in previous:
                    read += 1
                    yield case
        progress(read, count)
        start, previous = start + len(page), ids
        if not page or (len(page) < size and start >= count):
            return
        if start > count + SLACK * PAGE:
            raise CommandError(
                f"{where} counted {count} cases but kept answering pages past them (up to case {start}): it"
                " ignores the range asked for. Nothing was counted."
            )


def _ask(api: AdminApi, request: Request, parse: Callable[[bytes], object] | None = None) -> object:
    return api.call("POST", request.path, request.body, parse)


def _id(case: object) -> str | int | None:
    """The case's id; None for one without an id as TheHive writes it (a text) or a number, which no page can then
    repeat."""
    found = case.get("_id") or case.get("id") if isinstance(case, dict) else None
    return found if isinstance(found, (str, int)) and not isinstance(found, bool) else None
