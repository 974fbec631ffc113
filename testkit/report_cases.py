"""Generated phishing-report cases whose totals are known.

A seeded generator makes `Report`s (what happened: when, which verdict, who reported, who was told and
when); testkit/report_shapes.py dresses one as TheHive 5's query answer or 4.x's v0 search answer, and
`expected` counts the totals from the `Report`s alone, the way docs/statistics.md defines them, for the
tests to compare with what thehive_stats.py prints.
"""

from __future__ import annotations

import json
import math
import random
import statistics
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone

from feedback.tags import ACKNOWLEDGED, NOTIFIED, ack_time_tag, record_tag, verdict_tag

VERDICTS = ("Phishing", "Spam", "Legit email", "Simulation")
# What an analyst may leave in the field besides the four: unset, another word, a verdict spelt loosely.
ODD_VERDICTS = (None, None, "Undecided", "legit  EMAIL")
DAY = 86400_000
# 2026-01-01T00:00:00Z: the generated cases start then.
START = 1767225600_000
# A reporter tag in each form TheHive stores: as added, TheHive 4.0's renderings, spelt in capitals.
FORMS = ("user_email:{}", 'user_email="{}"', "user_email={}", "USER_EMAIL:{}")
# The classes of the time to feedback as docs/statistics.md names them, each up to (not including) its bound.
CLASSES = (
    ("under 15 min", 15 * 60),
    ("15-60 min", 60 * 60),
    ("1-4 h", 4 * 3600),
    ("4-24 h", 24 * 3600),
    ("1-3 days", 3 * 86400),
    ("3-7 days", 7 * 86400),
    ("over 7 days", math.inf),
)
# How long before its case's start a record still counts as at once (two clocks apart); one dated before that (a
# message sent on the alert before TheHive 4, which does not say the alert's date, made the case) is not timed.
CLOCK_BEHIND = 300
# Verdicts that say the report was right: a real attack, or the SOC's own exercise.
REAL = ("Phishing", "Simulation")


@dataclass
class Report:
    number: int
    created: int  # epoch ms, whole seconds
    title: str
    verdict: str | None
    reporters: list[str]
    alert: int | None = None  # the alert's date, where the case came from one
    told: dict = field(default_factory=dict)  # address -> epoch seconds of the verdict message
    sent: list = field(default_factory=list)  # told by an older version: no time
    acked: dict = field(default_factory=dict)
    acked_untimed: list = field(default_factory=list)
    tags: list = field(default_factory=list)


def generate(
    count: int,
    seed: int = 7,
    days: int = 150,
    reporters: int = 400,
    prefix="Phishing report",
    campaigns: float = 0.05,
    begin: int = START,
) -> list[Report]:
    """`count` cases over `days` days from `begin` (epoch ms), oldest first: some campaigns (many reporters), some
    not phishing reports. Their records follow within a week; dated later than the clock reads, they would be
    read as written by a clock far ahead."""
    rng = random.Random(seed)
    people = [f"employee{i}@example.org" for i in range(reporters)]
    reports = []
    for number in range(count):
        created = begin + rng.randrange(days * DAY) // 1000 * 1000
        verdict = rng.choice(VERDICTS * 3 + ODD_VERDICTS)
        many = rng.random() < campaigns
        names = rng.sample(people, rng.randint(5, 40) if many else rng.choice((1, 1, 1, 2)))
        title = f"{prefix}: message {number}" if rng.random() < 0.95 else f"Malware alert {number}"
        report = Report(number, created, title, verdict, names)
        if rng.random() < 0.3:
            report.alert = created - rng.randrange(1, 3600) * 1000
        start = (report.alert or created) // 1000
        for name in names:
            draw = rng.random()
            if verdict in VERDICTS and draw < 0.6:
                # Most within hours, a few after days: spread evenly over the logarithm of the time.
                report.told[name] = start + round(math.exp(rng.uniform(math.log(60), math.log(6 * 86400))))
            elif verdict in VERDICTS and draw < 0.8:
                report.sent.append(name)
            if rng.random() < 0.4:
                report.acked[name] = start + rng.randrange(5, 600)
            elif rng.random() < 0.1:
                report.acked_untimed.append(name)
        report.tags = tags_of(report, rng)
        reports.append(report)
    return sorted(reports, key=lambda r: (r.created, r.number))


def tags_of(report: Report, rng: random.Random) -> list[str]:
    tags = ["phishing"]
    for name in report.reporters:
        tags.append(rng.choice(FORMS).format(name.upper() if rng.random() < 0.1 else name))
        if rng.random() < 0.1:  # named twice, in another form: still one report
            tags.append(rng.choice(FORMS).format(name))
    if rng.random() < 0.05:
        tags.append("user_email:not an address")
    verdict = report.verdict or ""
    for name, at in report.told.items():
        tags += [record_tag(NOTIFIED, name), verdict_tag(name, verdict, _moment(at))]
    tags += [record_tag(NOTIFIED, name) for name in report.sent]
    for name, at in report.acked.items():
        tags += [record_tag(ACKNOWLEDGED, name), ack_time_tag(name, _moment(at))]
    tags += [record_tag(ACKNOWLEDGED, name) for name in report.acked_untimed]
    return tags


def _moment(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, tz=timezone.utc)


def expected(
    reports: list[Report], since: int = 0, before: int = 1 << 60, prefix="Phishing report", alerts: bool = True
) -> dict:
    """The totals thehive_stats.py must print for these cases, counted from what the generator knows.

    With `alerts`, feedback is timed from the alert's date where there was one (TheHive 5 says it; 4.x's v0 does not).
    """
    chosen = [r for r in reports if since <= r.created < before and r.title.startswith(prefix)]
    verdict = {r.number: _named(r.verdict) for r in chosen}
    delays, ack_delays, per_reporter = [], [], Counter()
    report_verdicts, month_report_verdicts, mixes = Counter(), {}, {}
    answered = unanswered = acknowledged = 0
    for r in chosen:
        start = ((alerts and r.alert) or r.created) / 1000
        per_reporter.update(r.reporters)
        report_verdicts[verdict[r.number]] += len(r.reporters)
        month_report_verdicts.setdefault(_month(r), Counter())[verdict[r.number]] += len(r.reporters)
        for name in r.reporters:
            mixes.setdefault(name, Counter())[verdict[r.number]] += 1
        acknowledged += len(set(r.acked) | set(r.acked_untimed))
        ack_delays += [max(0, math.floor(at - start + 0.5)) for at in r.acked.values() if at >= start - CLOCK_BEHIND]
        if verdict[r.number] in VERDICTS:
            told = set(r.told) | set(r.sent)
            answered += len(told)
            unanswered += len(r.reporters) - len(told)
            delays += [max(0, math.floor(at - start + 0.5)) for at in r.told.values() if at >= start - CLOCK_BEHIND]
    return {
        "cases": len(chosen),
        "reports": sum(len(r.reporters) for r in chosen),
        "reporters": len(per_reporter),
        "verdicts": Counter(verdict.values()),
        "answered": answered,
        "unanswered": unanswered,
        "acknowledged": acknowledged,
        "median_seconds": math.floor(statistics.median(delays) + 0.5) if delays else None,
        "p90_seconds": _p90(delays),
        "ack_median_seconds": math.floor(statistics.median(ack_delays) + 0.5) if ack_delays else None,
        "ack_p90_seconds": _p90(ack_delays),
        "distribution": [
            (label, sum(1 for d in delays if lower <= d < bound))
            for (label, bound), lower in zip(CLASSES, (-math.inf, *(bound for _, bound in CLASSES)))
        ],
        "top": sorted(per_reporter.items(), key=lambda item: (-item[1], item[0])),
        # Each reporter's verdicts and how many of their reports were real.
        "mixes": {name: (dict(mix), sum(mix[v] for v in REAL)) for name, mix in mixes.items()},
        "months": Counter(_month(r) for r in chosen),
        "report_verdicts": report_verdicts,
        "month_report_verdicts": month_report_verdicts,
    }


def _month(report: Report) -> str:
    return datetime.fromtimestamp(report.created / 1000, tz=timezone.utc).strftime("%Y-%m")


def _p90(delays: list[int]) -> int | None:
    """Nearest rank: the ceil(0.9 n)-th smallest."""
    return sorted(delays)[math.ceil(0.9 * len(delays)) - 1] if delays else None


def _named(verdict: str | None) -> str:
    if verdict is None:
        return "none"
    return next((v for v in VERDICTS if v.lower() == " ".join(verdict.split()).lower()), verdict)


def case(number: int, verdict: str | None, reporters: list[str], **facts) -> Report:
    """One case of the story a test tells; its tags written as the responder writes them, in random forms."""
    report = Report(number, START + number * DAY, f"Phishing report: message {number}", verdict, reporters)
    for key, value in facts.items():
        setattr(report, key, value)
    if "tags" not in facts:
        report.tags = tags_of(report, random.Random(number))
    return report


def read_json(result: subprocess.CompletedProcess) -> dict:
    """What thehive_stats.py --json printed, once it ended well."""
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)
