"""What to ask TheHive for: the phishing-report cases of a window, page by page, and how many there are.

TheHive 5 (and 4.1's v1) take a list of query steps (listCase, filter, sort, page or count); TheHive
4.1's v0 search takes a filter, the range in the URL, and counts through `_stats` (QueryCtrl.scala). Both
filters are TheHive's own query syntax (`_and`, `_like`, `_gte`, `_lt`); TheHive matches the title prefix
anywhere and by case where the responder does neither, so what comes back is checked again (facts.py).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from feedback.errors import PhishFeedbackError
from feedback.shapes import shape

PAGE = 500
V1_QUERY = "/api/v1/query?name={name}"
V0_SEARCH = "/api/case/_search?range={start}-{end}&sort=%2BcreatedAt"
V0_COUNT = "/api/case/_stats"
DAY = "%Y-%m-%d"


class WindowError(PhishFeedbackError):
    """--since or --until is no date; the text says what to give."""


@shape
class Window:
    since: int | None  # epoch ms, included
    before: int | None  # epoch ms, excluded: the day after --until

    def holds(self, seconds: float) -> bool:
        """Whether a case created at `seconds` (epoch) falls in the window: TheHive's filter is not taken on trust."""
        ms = seconds * 1000
        return (self.since is None or ms >= self.since) and (self.before is None or ms < self.before)


@shape
class Request:
    path: str
    body: dict


def window(since: str | None, until: str | None) -> Window:
    start, end = _day(since, "--since"), _day(until, "--until")
    if start and end and end < start:
        raise WindowError(f"--until {until} comes before --since {since}: give the first day, then the last.")
    # Up to the start of the day after the last; after 9999-12-31, the last day there is, no end at all.
    return Window(_ms(start), _ms(end + timedelta(days=1)) if end and end.date() < date.max else None)


def count_request(major: int, title_prefix: str, span: Window) -> Request:
    if major >= 5:
        steps = [{"_name": "listCase"}, _filter_step(title_prefix, span), {"_name": "count"}]
        return Request(V1_QUERY.format(name="cases.count"), {"query": steps})
    query = _filter(title_prefix, span, "createdAt")
    return Request(V0_COUNT, {"query": query, "stats": [{"_agg": "count"}]})


def page_request(major: int, title_prefix: str, span: Window, start: int, size: int = PAGE) -> Request:
    """The page of cases from `start`, oldest first; TheHive's range ends are exclusive."""
    if major >= 5:
        steps = [
            {"_name": "listCase"},
            _filter_step(title_prefix, span),
            {"_name": "sort", "_fields": [{"_createdAt": "asc"}]},
            {"_name": "page", "from": start, "to": start + size},
        ]
        return Request(V1_QUERY.format(name="cases"), {"query": steps})
    path = V0_SEARCH.format(start=start, end=start + size)
    return Request(path, {"query": _filter(title_prefix, span, "createdAt")})


def counted(answer: object) -> int | None:
    """The count in TheHive 5's answer (a number) or 4.1's `_stats` answer ({"count": n})."""
    if isinstance(answer, dict):
        answer = answer.get("count")
    return answer if isinstance(answer, int) and not isinstance(answer, bool) and answer >= 0 else None


def _filter_step(title_prefix: str, span: Window) -> dict:
    return {"_name": "filter", **_filter(title_prefix, span, "_createdAt")}


def _filter(title_prefix: str, span: Window, created: str) -> dict:
    # Every title that holds the prefix: the responder also takes it after tags and markers ("[EXT] FW: Phishing
    # report: …"), which `_startsWith` would leave out. TheHive's `_like` with a '*' at both ends is "contains"
    # (ScalliGraph's InputFilter.like, in TheHive 4.0 and 4.1); facts.py keeps only what the responder would answer.
    criteria = [{"_like": {"_field": "title", "_value": f"*{title_prefix}*"}}]
    if span.since is not None:
        criteria.append({"_gte": {"_field": created, "_value": span.since}})
    if span.before is not None:
        criteria.append({"_lt": {"_field": created, "_value": span.before}})
    return {"_and": criteria}


def _day(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.strptime(text, DAY).replace(tzinfo=timezone.utc)
    except ValueError:
        raise WindowError(f"{option} takes a day as YYYY-MM-DD (UTC), like 2026-01-31, not '{text}'.") from None


def _ms(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)
