"""The statistics command at scale: 100,000 cases with about 150,000 reports, against a bare requests loop.

`./dev statsbench` serves generated cases from a loopback TheHive 5 (testkit/thehive_cases.py) and runs,
in turn each round, thehive_stats.py and its floor (bench/stats_floor.py: the same count and pages asked
for, their JSON decoded, nothing counted). Both are started by path, as an analyst starts the command;
CPU time (user + system) and peak RSS come from bench/launch.py. 11 rounds, as a round's ratio moves by a
tenth either way on a shared machine; then the instructions each executes, counted once by callgrind, which
do not move. `--quick`: one round of 20,000 cases.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from pytest_httpserver import HTTPServer

from bench.run import each_round, instructions, median_rows
from feedback.stats.queries import Window, page_request
from testkit.cortex import REPO
from testkit.report_cases import DAY, generate
from testkit.thehive_api import API_KEY
from testkit.thehive_cases import CaseSearch

SCRIPT = REPO / "PhishFeedback" / "thehive_stats.py"
FLOOR = REPO / "bench" / "stats_floor.py"
PREFIX = "Phishing report"
# The key for the command, and what the commands print sent nowhere: the launcher's own line is the measure.
QUIET = ["/bin/sh", "-c", 'export THEHIVE_APIKEY="$0"; exec "$@" >/dev/null', API_KEY]


def main() -> None:
    quick = "--quick" in sys.argv
    count, rounds = (20_000, 1) if quick else (100_000, 11)
    made = time.perf_counter()
    # The year before this week, so that no record lies ahead of the clock: what is counted stays the same whatever
    # the day the benchmark runs.
    begin = (int(time.time()) // 86400 - 365 - 7) * DAY
    reports = generate(count, seed=1, days=365, reporters=5000, campaigns=0.011, begin=begin)
    made = time.perf_counter() - made
    print(f"{count} cases, {sum(len(r.reporters) for r in reports)} reports generated in {made:.0f} s")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = HTTPServer(host="127.0.0.1", threaded=True)
    server.start()
    try:
        hive = CaseSearch(server, "5", reports)
        step = page_request(5, PREFIX, Window(None, None), 0).body["query"][1]
        commands = {
            "floor: requests, the same pages decoded": [*QUIET, str(FLOOR), hive.url, API_KEY, json.dumps(step)],
            "thehive_stats.py --json": [*QUIET, str(SCRIPT), "--url", hive.url, "--json"],
        }
        runs = each_round(rounds, commands)
        # Side by side: each waits on the loopback server, not on the other.
        with ThreadPoolExecutor(2) as pool:
            counted = [] if quick else list(pool.map(instructions, commands.values()))
    finally:
        server.stop()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()},"
        f" load average {os.getloadavg()[0]:.2f}; rounds: {rounds}\n"
    )
    rows = median_rows(runs)
    print(f"{'run':<44} {'wall s':>8} {'CPU s':>8} {'peak RSS MiB':>13}")
    for name, (seconds, cpu, rss) in rows.items():
        print(f"{name:<44} {seconds:>8.2f} {cpu:>8.2f} {rss / 1024:>13.1f}")
    floor, command = rows.values()
    # Each round's own ratio too: the floor's CPU moves from run to run as much as the command's.
    paired = [f"{c[1] / f[1]:.2f}" for f, c in zip(*runs.values())]
    print(f"\nCPU thehive_stats.py / floor: {command[1] / floor[1]:.2f} (target 1.3)")
    print(f"the same, round by round: {', '.join(paired)}")
    print(f"peak RSS of thehive_stats.py: {command[2] / 1024:.1f} MiB (target 100)")
    if counted and None not in counted:
        print(f"instructions, thehive_stats.py / floor (callgrind): {counted[1] / counted[0]:.2f}")


if __name__ == "__main__":
    main()
