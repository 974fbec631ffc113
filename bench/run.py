"""The benchmark: the responder as Cortex runs it, against the floor, on a loopback STARTTLS + AUTH server.

Prints medians over repeated runs and their ratios. `./dev bench --quick` does fewer rounds.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from testkit.cases import thehive4_case
from testkit.cortex import REPO, cortex_config, modules_loaded_by, write_job
from testkit.smtp_server import PASSWORD, USER, Certificates, LoopbackSmtp

FLOOR = Path(__file__).with_name("floor.py")
LAUNCH = Path(__file__).with_name("launch.py")
SCRIPT = REPO / "PhishFeedback" / "phish_feedback.py"
CAMPAIGN = 500
HEAVY = ("requests", "urllib3", "http", "dataclasses", "inspect", "pathlib")


def timed(command: list[str]) -> tuple[float, int]:
    """Wall time of a fresh process, and its peak RSS in KiB, as the small launcher measures them."""
    done = subprocess.run(
        [sys.executable, str(LAUNCH), *command], cwd=REPO, stdin=subprocess.DEVNULL, capture_output=True, text=True
    )
    seconds, rss, code = done.stdout.split()
    if code != "0":
        raise SystemExit(f"{command[0]} failed with exit code {code}: {done.stderr}")
    return float(seconds), int(rss)


def medians(rounds: int, commands: dict[str, list[str]]) -> dict[str, tuple[float, int]]:
    """Median wall time and peak RSS of each command, run in turn each round so that drift hits all alike."""
    runs: dict[str, list[tuple[float, int]]] = {name: [] for name in commands}
    for _ in range(rounds):
        for name, command in commands.items():
            runs[name].append(timed(command))
    return {name: (statistics.median(t for t, _ in r), max(m for _, m in r)) for name, r in runs.items()}


def instructions(command: list[str]) -> int | None:
    """Instructions the command executes, counted by callgrind: steady where wall time is noisy."""
    if not shutil.which("valgrind"):
        return None
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", "--trace-children=yes", *command],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    counts = re.findall(r"Collected : (\d+)", done.stderr)
    return int(counts[-1]) if counts else None


def import_time() -> int:
    """Microseconds `python -X importtime` gives the entry module, cumulative."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import phish_feedback"],
        cwd=SCRIPT.parent,
        capture_output=True,
        text=True,
        check=True,
    )
    return int(re.findall(r"\|\s+(\d+) \| phish_feedback$", done.stderr, re.MULTILINE)[-1])


def main() -> None:
    rounds = 3 if "--quick" in sys.argv else 21
    campaign_rounds = 1 if "--quick" in sys.argv else 5
    certificates = Certificates()
    with LoopbackSmtp(certificates) as server, tempfile.TemporaryDirectory() as workdir:
        cafile = Path(workdir, "ca.pem")
        cafile.write_text(certificates.ca_pem)
        base = {
            "from": "SOC <soc@example.org>",
            "smtp_host": server.host,
            "smtp_port": server.port,
            "smtp_user": USER,
            "smtp_password": PASSWORD,
        }
        config = cortex_config(base, cacerts=certificates.ca_pem)
        reporters = [f"reporter{i}@example.org" for i in range(CAMPAIGN)]
        one_job = write_job(Path(workdir), thehive4_case("Spam"), config)
        campaign_job = write_job(Path(workdir), thehive4_case("Spam", reporters), config)
        # Started by path, through its #! line, as Cortex starts the job.
        floor = [str(FLOOR), server.host, str(server.port), str(cafile), USER, PASSWORD]

        rows = medians(
            rounds,
            {"floor: 1 message": [*floor, "1", "one-session"], "job: 1 reporter": [str(SCRIPT), str(one_job)]},
        )
        rows |= medians(
            campaign_rounds,
            {
                f"floor: {CAMPAIGN} messages, one session": [*floor, str(CAMPAIGN), "one-session"],
                f"floor: {CAMPAIGN} messages, a connection each": [*floor, str(CAMPAIGN), "per-message"],
                f"job: {CAMPAIGN} reporters": [str(SCRIPT), str(campaign_job)],
            },
        )
        counted = (instructions([*floor, "1", "one-session"]), instructions([str(SCRIPT), str(one_job)]))
        loaded = modules_loaded_by(write_job(Path(workdir), thehive4_case("Spam"), config), HEAVY)
        delivered = len(server.delivered)

    machine = f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()}"
    print(f"machine: {machine}, Python {platform.python_version()}")
    print(f"rounds: {rounds} (single), {campaign_rounds} (campaign); {delivered} messages delivered in all\n")
    print(f"{'run':<44} {'median s':>9} {'peak RSS MiB':>13}")
    for name, (seconds, rss) in rows.items():
        print(f"{name:<44} {seconds:>9.3f} {rss / 1024:>13.1f}")
    one = rows["job: 1 reporter"][0] / rows["floor: 1 message"][0]
    many = rows[f"job: {CAMPAIGN} reporters"][0] / rows[f"floor: {CAMPAIGN} messages, one session"][0]
    per = rows[f"job: {CAMPAIGN} reporters"][0] / rows[f"floor: {CAMPAIGN} messages, a connection each"][0]
    print()
    print(f"ratio one job / floor:                               {one:.2f}  (target <= 1.15)")
    print(f"ratio {CAMPAIGN}-reporter job / floor over one session:     {many:.2f}  (target <= 1.30)")
    print(f"ratio {CAMPAIGN}-reporter job / one connection per message: {per:.2f}")
    print(
        f"peak RSS of the {CAMPAIGN}-reporter job: {rows[f'job: {CAMPAIGN} reporters'][1] / 1024:.1f} MiB (target < 40)"
    )
    if None not in counted:
        print(f"instructions, one job / floor (callgrind):           {counted[1] / counted[0]:.2f}")
    print(f"import time of phish_feedback: {import_time() / 1000:.1f} ms")
    print(f"loaded by a plain case job, of {', '.join(HEAVY)}: {', '.join(loaded) or 'none'}")


if __name__ == "__main__":
    main()
