"""The statistics, counted case by case as the pages come: no case is kept, only the counts.

A report is one reporter on one case. Verdicts are counted per case (`verdicts`, and per month) and
per report (`report_verdicts`, the reporters' own mix). Feedback is said of the reports on cases that
have one of the four verdicts: answered when the record names the reporter, timed where the record
holds the time (from the case's creation, or the alert's date where the case came from one).
"""

from __future__ import annotations

import math
import statistics
import time
from array import array
from bisect import bisect_right
from collections import Counter
from itertools import takewhile

from feedback.case import VERDICTS
from feedback.stats.facts import NONE, CaseFacts

# The verdicts that say the report was right: a real attack, or the SOC's own exercise.
REAL = ("Phishing", "Simulation")
# Time to feedback, in classes an analyst reads at a glance: (label, up to so many seconds).
CLASSES = (
    ("under 15 min", 15 * 60),
    ("15-60 min", 3600),
    ("1-4 h", 4 * 3600),
    ("4-24 h", 86400),
    ("1-3 days", 3 * 86400),
    ("3-7 days", 7 * 86400),
    ("over 7 days", math.inf),
)


class Tally:
    """Counted by (day, verdict) and by verdict and reporter, one entry a case and one a report: the totals, the
    months' and each reporter's own mix are summed from them once, at the end."""

    def __init__(self) -> None:
        self.answered = self.unanswered = self.acknowledged = 0
        self.cells: dict[tuple[float, str], list[int]] = {}  # (day since the epoch, verdict) -> [cases, reports]
        self.reported: dict[str, dict[str, int]] = {}  # verdict -> address -> reports
        self.delays, self.ack_delays = array("q"), array("q")

    def add(self, case: CaseFacts) -> None:
        created, start, verdict, reporters, answered, told, acknowledged, acked = case
        key = created // 86400, verdict
        cell = self.cells.get(key)
        if cell is None:
            cell = self.cells[key] = [0, 0]
        cell[0] += 1
        cell[1] += len(reporters)
        reported = self.reported.get(verdict)
        if reported is None:
            reported = self.reported[verdict] = {}
        answerable = verdict in VERDICTS
        # Each time in whole seconds, a half up: the case's is in milliseconds. One up to CLOCK_BEHIND before the start
        # (`case_facts`) counts as at once.
        for address in reporters:
            reported[address] = reported.get(address, 0) + 1
            if address in acknowledged:
                self.acknowledged += 1
                if address in acked:
                    self.ack_delays.append(max(0, int(acked[address] - start + 0.5)))
            if not answerable:
                continue
            if address in answered:
                self.answered += 1
                if address in told:
                    self.delays.append(max(0, int(told[address] - start + 0.5)))
            else:
                self.unanswered += 1

    def result(self, top: int, since: int | None = None, before: int | None = None) -> dict:
        """The statistics as one JSON-ready object (docs/statistics.md names its keys); the months run without a gap
        from the window's first (`since`, epoch ms) or the first case's to its last (`before`, excluded, up to now)
        or the last case's: a month with no report is the figure a SOC looks for (a collector that stopped)."""
        verdicts, report_verdicts = Counter(), Counter()
        months: dict[str, list] = {}  # "YYYY-MM" -> [cases, reports, Counter of cases, Counter of reports]
        for (day, verdict), (cases, reports) in self.cells.items():
            month = _month(day * 86400)
            verdicts[verdict] += cases
            report_verdicts[verdict] += reports
            counts = months.get(month)
            if counts is None:
                counts = months[month] = [0, 0, Counter(), Counter()]
            counts[0] += cases
            counts[1] += reports
            counts[2][verdict] += cases
            counts[3][verdict] += reports
        first = _month(since / 1000) if since is not None else None
        last = _month(min(before / 1000 - 1, time.time())) if before is not None else None
        # A window that starts after this month ends at its first month, not at this one, before it.
        edges = [*months, *(edge for edge in (first, last) if edge is not None and (first is None or edge >= first))]
        for month in _months_from(min(edges), max(edges)) if edges else ():
            months.setdefault(month, [0, 0, Counter(), Counter()])
        reporters: Counter = Counter()  # address -> reports; each one's mix is made for the top ones only
        for counts in self.reported.values():
            reporters.update(counts)
        ordered = sorted(reporters.items(), key=lambda item: (-item[1], item[0]))
        ranked = ordered[: max(top, 0)]
        # Reporters left out with as many reports as the last one listed: the cut is by address among them.
        tied = sum(1 for _ in takewhile(lambda item: item[1] == ranked[-1][1], ordered[len(ranked) :])) if ranked else 0
        delays, ack_delays = sorted(self.delays), sorted(self.ack_delays)
        return {
            "cases": sum(verdicts.values()),
            "reports": sum(report_verdicts.values()),
            "reporters": len(reporters),
            "verdicts": _ordered(verdicts, every=True),
            "report_verdicts": _ordered(report_verdicts, every=True),
            "months": [
                {
                    "month": month,
                    "cases": counts[0],
                    "reports": counts[1],
                    "verdicts": _ordered(counts[2]),
                    "report_verdicts": _ordered(counts[3]),
                }
                for month, counts in sorted(months.items())
            ],
            "feedback": {
                "answered": self.answered,
                "unanswered": self.unanswered,
                "measured": len(delays),
                "median_seconds": _median(delays),
                "p90_seconds": _p90(delays),
                "acknowledged": self.acknowledged,
                "ack_measured": len(ack_delays),
                "ack_median_seconds": _median(ack_delays),
                "ack_p90_seconds": _p90(ack_delays),
                "distribution": _distribution(delays),
            },
            "top_reporters": [self._reporter(address, reports) for address, reports in ranked],
            "top_reporters_tied_unlisted": tied,
        }

    def _reporter(self, address: str, reports: int) -> dict:
        mix = Counter({verdict: counts[address] for verdict, counts in self.reported.items() if address in counts})
        return {"address": address, "reports": reports, "verdicts": _ordered(mix), "real": sum(mix[v] for v in REAL)}


def _month(epoch: float) -> str:
    moment = time.gmtime(epoch)
    return f"{moment.tm_year:04d}-{moment.tm_mon:02d}"


def _months_from(first: str, last: str) -> list[str]:
    """Every month from `first` to `last` ("YYYY-MM"), both included."""
    year, month = int(first[:4]), int(first[5:])
    months = []
    while f"{year:04d}-{month:02d}" <= last:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _ordered(counts: Counter, every: bool = False) -> dict[str, int]:
    """The four verdicts first, in the responder's order, then any other value, then NONE; with `every`, zeros too."""
    others = sorted(v for v in counts if v not in VERDICTS and v != NONE)
    return {v: counts[v] for v in (*VERDICTS, *others, NONE) if every or counts[v]}


def _median(ordered: list) -> int | None:
    """A half second up, as a reader rounds it (`round` takes halves to the even: 2.5 s to 2)."""
    return math.floor(statistics.median(ordered) + 0.5) if ordered else None


def _p90(ordered: list) -> int | None:
    """The nearest-rank 90th percentile: the time within which nine reports in ten were answered."""
    return ordered[math.ceil(0.9 * len(ordered)) - 1] if ordered else None


def _distribution(values: list) -> list[dict]:
    counts, bounds = [0] * len(CLASSES), [bound for _, bound in CLASSES]
    for value in values:
        counts[bisect_right(bounds, value)] += 1  # the first class whose bound is above the value
    return [{"within": label, "reports": count} for (label, _), count in zip(CLASSES, counts)]
