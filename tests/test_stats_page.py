"""The statistics page: self-contained, every value from the cases escaped, rendered by a real headless Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from html import unescape as html_unescape

import pytest

from demo.screenshots import CHROMIUM, QUIET
from demo.stats_page import shoot
from feedback.stats.facts import case_facts
from feedback.stats.page import page
from feedback.stats.tally import Tally
from testkit.report_cases import generate
from testkit.report_shapes import v1_case

# The markup an address the responder takes may hold ('<' and '>' it refuses, even in quotes).
HOSTILE_ADDRESS = "o'neil&amp=co@example.org"
HOSTILE_VERDICT = "<script>alert('verdict')</script>"


def statistics(cases: list[dict], top: int = 1000) -> dict:
    tally = Tally()
    for case in cases:
        facts = case_facts(case, "phishFeedback", "Phishing report")
        if facts is not None:
            tally.add(facts)
    return {**tally.result(top), "thehive": 5}


def sample() -> list[dict]:
    cases = [v1_case(report) for report in generate(300, seed=4)]
    hostile = dict(cases[0], tags=[f"user_email:{HOSTILE_ADDRESS}"])
    hostile["customFields"] = [{"name": "phishFeedback", "type": "string", "value": HOSTILE_VERDICT}]
    return [*cases, hostile]


@pytest.fixture
def chromium():
    if not shutil.which("chromium"):
        if os.environ.get("CI") == "true":
            pytest.fail("CI must open the statistics page in a browser: apt-get install chromium")
        pytest.skip("needs Debian's chromium (apt-get install chromium)")


def test_every_value_from_the_cases_is_escaped():
    html = page(statistics(sample()), "2026-12-05 00:00 UTC")

    assert "o&#x27;neil&amp;amp=co@<wbr>example<wbr>.org" in html
    assert "&lt;script&gt;" in html
    assert "<img" not in html and "<script" not in html


def test_the_page_fetches_nothing_and_runs_nothing():
    html = page(statistics(sample()), "2026-12-05 00:00 UTC")

    assert not re.search(r"<(script|link|iframe|object|embed|img)\b", html)
    assert not re.search(r"<[^>]*\s(src|href)=", html)
    assert not re.search(r"url\((?!#)", html)
    assert "default-src 'none'" in html


def test_the_page_renders_in_a_headless_browser_without_a_console_error(chromium, tmp_path):
    target = tmp_path / "statistics.html"
    target.write_text(page(statistics(sample()), "2026-12-05 00:00 UTC"), encoding="utf-8")

    done = subprocess.run(
        [*CHROMIUM, *QUIET, f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0"]
        + ["--dump-dom", target.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr[-2000:]
    assert ":CONSOLE" not in done.stderr, done.stderr
    dom = done.stdout
    assert dom.count("<figure") == 2
    charts = re.findall(r'<svg viewBox="[^"]+"[^>]*role="img".*?</svg>', dom, re.S)
    assert len(charts) == 2
    assert all(chart.count("<rect") >= 6 for chart in charts)
    assert "Top reporters" in dom and "employee" in dom


# Verdicts a SOC wrote in the field in its own words, beside the four.
WRITTEN = [
    "Phishing - credential harvesting campaign targeting the finance department",
    "Spam (newsletter the reporter subscribed to and forgot about)",
    "Legitimate vendor invoice, confirmed with accounts payable by phone",
    "CEO fraud attempt / business email compromise",
    "Malware attachment: ISO containing LNK dropper",
    "Undecided",
]
# Run in a copy of the page (the page itself runs nothing): where each table ends beside the page's text, and on how
# many lines each first cell's text lies.
MEASURE = """<script>
const text = document.querySelector("h1").getBoundingClientRect().right;
const right = Math.max(text, document.querySelector("h2").getBoundingClientRect().right);
const lines = (cell) => { const r = document.createRange(); r.selectNodeContents(cell);
  return new Set([...r.getClientRects()].map((box) => Math.round(box.top))).size; };
const tables = [...document.querySelectorAll("table")].map((table) => ({
  within: table.getBoundingClientRect().right <= right + 1,
  lines: [...table.querySelectorAll("tbody td:first-child")].map(lines) }));
document.body.insertAdjacentHTML("beforeend", `<pre id="measured">${JSON.stringify(tables)}</pre>`);
</script>"""


def laid_out(html: str, folder, width: int = 840) -> list[dict]:
    """Each table of the page as Chromium lays it out in a window `width` pixels wide."""
    target = folder / "measured.html"
    measured = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html)
    target.write_text(measured.replace("</body>", f"{MEASURE}</body>"), encoding="utf-8")
    done = subprocess.run(
        [*CHROMIUM, *QUIET, f"--user-data-dir={folder / 'profile'}", f"--window-size={width},1200"]
        + ["--dump-dom", target.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    *_, written = re.findall(r'<pre id="measured">(.*?)</pre>', done.stdout, re.S)  # the script's own text first
    return json.loads(html_unescape(written))


def test_verdicts_written_as_sentences_leave_every_table_within_the_page_and_every_month_on_one_line(
    chromium, tmp_path
):
    """Long free-text verdicts once made the tables wider than the page (the last columns cut off in print) and
    squeezed the month column to a character a line."""
    cases = [v1_case(report) for report in generate(300, seed=4)]
    for n, case in enumerate(cases[:200]):
        case["customFields"] = [{"name": "phishFeedback", "type": "string", "value": WRITTEN[n % len(WRITTEN)]}]

    months, feedback, top = laid_out(page(statistics(cases), "2026-12-05 00:00 UTC"), tmp_path)

    assert months["within"] and feedback["within"] and top["within"]
    assert set(months["lines"]) == {1}, "a month broken over lines"
    assert set(top["lines"]) == {1}, "an address of the sample (employeeN@example.org) broken over lines"


def test_the_sample_reporters_addresses_each_keep_their_line_beside_the_verdict_columns(chromium, tmp_path):
    """The top reporters' table of README's picture once broke employee102@example.org in the middle of its domain,
    with room to spare in the columns beside it."""
    cases = [v1_case(report) for report in generate(900, seed=2026, days=180, reporters=160)]

    _, _, top = laid_out(page(statistics(cases, top=20), "2026-12-05 00:00 UTC"), tmp_path)

    assert top["within"] and set(top["lines"]) == {1}


def test_an_address_as_long_as_any_breaks_within_the_page_and_leaves_the_others_whole(chromium, tmp_path):
    longest = f"{'a' * 64}@{'.'.join(['b' * 40] * 4)}.example"
    cases = [v1_case(report) for report in generate(300, seed=4)]
    for case in cases[:40]:
        case["tags"] = [*case["tags"], f"user_email:{longest}"]

    _, _, top = laid_out(page(statistics(cases, top=20), "2026-12-05 00:00 UTC"), tmp_path)

    assert top["within"]
    assert top["lines"][0] > 1, "the longest address is the top reporter, broken over lines"
    assert set(top["lines"][1:]) == {1}, "an address of the sample (employeeN@example.org) broken over lines"


def test_the_page_is_drawn_into_a_picture(chromium, tmp_path):
    target, picture = tmp_path / "statistics.html", tmp_path / "statistics.png"
    target.write_text(page(statistics(sample()), "2026-12-05 00:00 UTC"), encoding="utf-8")

    shoot(target, picture, tmp_path / "profile")

    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert picture.stat().st_size > 20_000  # a page with its charts, not a blank one
