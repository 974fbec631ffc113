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
from collections import Counter

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
    def __init__(self) -> None:
        self.cases = self.reports = self.answered = self.unanswered = self.acknowledged = 0
        self.verdicts: Counter = Counter()
        self.report_verdicts: Counter = Counter()
        self.months: dict[str, list] = {}  # "YYYY-MM" -> [cases, reports, Counter of cases, Counter of reports]
        self.reporters: dict[str, list] = {}  # address -> [reports, real, Counter of verdicts]
        self.delays, self.ack_delays = array("q"), array("q")

    def add(self, case: CaseFacts) -> None:
        created, start, verdict, reporters, answered, told, acknowledged, acked = case
        count = len(reporters)
        self.cases += 1
        self.reports += count
        self.verdicts[verdict] += 1
        self.report_verdicts[verdict] += count
        key = _month(created)
        month = self.months.get(key)
        if month is None:
            month = self.months[key] = [0, 0, Counter(), Counter()]
        month[0] += 1
        month[1] += count
        month[2][verdict] += 1
        month[3][verdict] += count
        real, answerable = verdict in REAL, verdict in VERDICTS
        for address in reporters:
            counts = self.reporters.get(address)
            if counts is None:
                counts = self.reporters[address] = [0, 0, Counter()]
            counts[0] += 1
            counts[1] += real
            counts[2][verdict] += 1
            if address in acknowledged:
                self.acknowledged += 1
                if address in acked:
                    self.ack_delays.append(max(0, round(acked[address] - start)))
            if not answerable:
                continue
            if address in answered:
                self.answered += 1
                if address in told:
                    self.delays.append(max(0, round(told[address] - start)))
            else:
                self.unanswered += 1

    def result(self, top: int) -> dict:
        """The statistics as one JSON-ready object (docs/statistics.md names its keys)."""
        ranked = sorted(self.reporters.items(), key=lambda item: (-item[1][0], item[0]))[: max(top, 0)]
        return {
            "cases": self.cases,
            "reports": self.reports,
            "reporters": len(self.reporters),
            "verdicts": _ordered(self.verdicts, every=True),
            "report_verdicts": _ordered(self.report_verdicts, every=True),
            "months": [
                {
                    "month": month,
                    "cases": counts[0],
                    "reports": counts[1],
                    "verdicts": _ordered(counts[2]),
                    "report_verdicts": _ordered(counts[3]),
                }
                for month, counts in sorted(self.months.items())
            ],
            "feedback": {
                "answered": self.answered,
                "unanswered": self.unanswered,
                "measured": len(self.delays),
                "median_seconds": _median(self.delays),
                "p90_seconds": _p90(self.delays),
                "acknowledged": self.acknowledged,
                "ack_measured": len(self.ack_delays),
                "ack_median_seconds": _median(self.ack_delays),
                "ack_p90_seconds": _p90(self.ack_delays),
                "distribution": _distribution(self.delays),
            },
            "top_reporters": [
                {"address": address, "reports": counts[0], "verdicts": _ordered(counts[2]), "real": counts[1]}
                for address, counts in ranked
            ],
        }


def _month(epoch: float) -> str:
    moment = time.gmtime(epoch)
    return f"{moment.tm_year:04d}-{moment.tm_mon:02d}"


def _ordered(counts: Counter, every: bool = False) -> dict[str, int]:
    """The four verdicts first, in the responder's order, then any other value, then NONE; with `every`, zeros too."""
    others = sorted(v for v in counts if v not in VERDICTS and v != NONE)
    return {v: counts[v] for v in (*VERDICTS, *others, NONE) if every or counts[v]}


def _median(values: array) -> int | None:
    return round(statistics.median(values)) if values else None


def _p90(values: array) -> int | None:
    """The nearest-rank 90th percentile: the time within which nine reports in ten were answered."""
    if not values:
        return None
    return sorted(values)[math.ceil(0.9 * len(values)) - 1]


def _distribution(values: array) -> list[dict]:
    counts = [0] * len(CLASSES)
    for value in values:
        counts[next(i for i, (_, bound) in enumerate(CLASSES) if value < bound)] += 1
    return [{"within": label, "reports": count} for (label, _), count in zip(CLASSES, counts)]
