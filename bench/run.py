"""The benchmark: the responder as Cortex runs it, against the floor, on a loopback STARTTLS + AUTH server.

Prints medians of wall time and of CPU time (user + system) over repeated runs, and their ratios;
CPU time is the steadier of the two on a shared machine. `./dev bench --quick` does fewer rounds.
`./dev bench --mailer PATH` also runs Cortex-Analyzers' Mailer responder (PATH: its `mailer.py`, from a
checkout of that repository) on the same case, side by side with the job.
The jobs run in the environment Cortex gives them: no SSL_CERT_FILE or SSL_CERT_DIR, so that they
trust the system's store as it is laid out on this machine.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from pytest_httpserver import HTTPServer

from bench.scrub import lines as scrub_lines
from testkit.cases import thehive4_case
from testkit.certificates import Certificates
from testkit.cortex import REPO, cortex_config, modules_loaded_by, write_job
from testkit.graph_api import GraphApi
from testkit.smtp_faults import PASSWORD, USER
from testkit.smtp_server import LoopbackSmtp
from testkit.token_endpoint import CLIENT_ID, CLIENT_SECRET, MAILBOX, SCOPE, TOKEN, TOKEN_PATH, token_answer

FLOOR = Path(__file__).with_name("floor.py")
GRAPH_FLOOR = Path(__file__).with_name("graph_floor.py")
LAUNCH = Path(__file__).with_name("launch.py")
SCRIPT = REPO / "PhishFeedback" / "phish_feedback.py"
CAMPAIGN = 500
# A campaign ten times as large: what a message costs should not grow with the reporters before it.
LARGE = 5000
MAILER = "Cortex-Analyzers' Mailer: 1 message"
HEAVY = ("requests", "urllib3", "http", "typing", "dataclasses", "inspect", "pathlib", "threading", "importlib")
CORTEX_ENV = {k: v for k, v in os.environ.items() if k not in ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE")}


def afresh(command: list[str]) -> None:
    """A job's run answers a case no job answered before: the jobs before it on the same case, in the same job
    directory, have recorded its reporters (feedback/concurrent_jobs.py), and it would send nothing."""
    if command[:1] == [str(SCRIPT)]:
        for folder in Path(command[1]).parent.glob(".phish_feedback-*"):
            shutil.rmtree(folder, ignore_errors=True)


def sent_something(command: list[str]) -> None:
    """A job's run that sent nothing measures nothing: the benchmark stops."""
    if command[:1] == [str(SCRIPT)]:
        report = json.loads(Path(command[1], "output", "output.json").read_text(encoding="utf-8"))
        if not report.get("operations"):
            raise SystemExit(f"the job on {command[1]} sent nothing: {report}")


def timed(command: list[str]) -> tuple[float, float, int]:
    """Wall time and CPU time of a fresh process, and its peak RSS in KiB, as the small launcher measures them."""
    afresh(command)
    done = subprocess.run(
        [sys.executable, str(LAUNCH), *command],
        cwd=REPO,
        env=CORTEX_ENV,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
    )
    seconds, rss, code, cpu = done.stdout.split()
    if code != "0":
        raise SystemExit(f"{command[0]} failed with exit code {code}: {done.stderr}")
    sent_something(command)
    return float(seconds), float(cpu), int(rss)


def each_round(rounds: int, commands: dict[str, list[str]]) -> dict[str, list[tuple[float, float, int]]]:
    """Wall and CPU time and peak RSS of each command in each round, run in turn so that drift hits all alike."""
    runs: dict[str, list[tuple[float, float, int]]] = {name: [] for name in commands}
    for _ in range(rounds):
        for name, command in commands.items():
            runs[name].append(timed(command))
    return runs


def medians(rounds: int, commands: dict[str, list[str]]) -> dict[str, tuple[float, float, int]]:
    """Median wall and CPU time and peak RSS of each command over the rounds."""
    return median_rows(each_round(rounds, commands))


def median_rows(runs: dict[str, list[tuple[float, float, int]]]) -> dict[str, tuple[float, float, int]]:
    return {
        name: (statistics.median(r[0] for r in rs), statistics.median(r[1] for r in rs), max(r[2] for r in rs))
        for name, rs in runs.items()
    }


def ratio(rows: dict, job: str, floor: str, label: str, target: str = "") -> str:
    wall, cpu = (rows[job][i] / rows[floor][i] for i in (0, 1))
    return f"{label:<52} CPU {cpu:.2f}   wall {wall:.2f}{f'  (target {target})' if target else ''}"


def mailer_command(mailer: Path, workdir: Path, server: LoopbackSmtp, ca_pem: str) -> list[str]:
    """Cortex-Analyzers' Mailer on the same case, as Cortex runs it: it trusts the system's store, read whole
    (`ssl.create_default_context()`), here with the loopback CA added to that store's file."""
    store = Path(workdir, "system-store-and-loopback-ca.pem")
    system = ssl.get_default_verify_paths().openssl_cafile
    store.write_text(Path(system).read_text(encoding="utf-8") + ca_pem, encoding="utf-8")
    # Mailer reads its recipient from a `mail:` tag and sends the description as the body.
    case = thehive4_case("Spam", tags=("mail:alice@example.org",))
    config = {"from": "soc@example.org", "smtp_host": server.host, "smtp_port": server.port}
    job = write_job(workdir, case, {**config, "smtp_user": USER, "smtp_pwd": PASSWORD})
    return ["/usr/bin/env", f"SSL_CERT_FILE={store}", str(mailer), str(job)]


def instructions(command: list[str]) -> int | None:
    """Instructions the command executes, counted by callgrind: steady where wall time is noisy."""
    if not shutil.which("valgrind"):
        return None
    afresh(command)
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", "--trace-children=yes", *command],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    counts = re.findall(r"Collected : (\d+)", done.stderr)
    sent_something(command)
    return int(counts[-1]) if counts else None


def responder_floor() -> int | None:
    """What a job of a Cortex responder that mails HTML adds to the floor's instructions whatever its own code is:
    json and cortexutils (its input and report), html (escaping the case's text) and signal (Cortex's SIGTERM),
    with the cyclic collector off while the modules load, as the job has it (PhishFeedback/phish_feedback.py)."""
    floor_modules = "smtplib, socket, ssl, sys, datetime, email.message, email.utils"
    bare = instructions([sys.executable, "-c", f"import {floor_modules}"])
    responder = instructions(
        [
            sys.executable,
            "-c",
            f"import gc; gc.disable(); import {floor_modules}, cortexutils.responder, html, json, signal; gc.freeze()",
        ]
    )
    return None if None in (bare, responder) else responder - bare


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
    mailer = Path(sys.argv[sys.argv.index("--mailer") + 1]).resolve() if "--mailer" in sys.argv else None
    campaign_rounds = 1 if "--quick" in sys.argv else 5
    certificates = Certificates()
    graph = GraphApi(certificates)
    scopes = (SCOPE, f"{graph.url}/.default")
    entra = HTTPServer(host="127.0.0.1", ssl_context=certificates.server_context())
    entra.expect_request(TOKEN_PATH, method="POST").respond_with_handler(
        lambda request: token_answer(
            request, request.form.get("scope") if request.form.get("scope") in scopes else SCOPE
        )
    )
    entra.start()
    with LoopbackSmtp(certificates) as server, tempfile.TemporaryDirectory() as workdir:
        server.xoauth2.tokens[TOKEN] = MAILBOX
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
        oauth = {
            "smtp_auth": "oauth2",
            "smtp_user": MAILBOX,
            "oauth_token_url": entra.url_for(TOKEN_PATH),
            "oauth_client_id": CLIENT_ID,
            "oauth_client_secret": CLIENT_SECRET,
        }
        oauth_config = cortex_config({**base, **oauth}, cacerts=certificates.ca_pem)
        oauth_job = write_job(Path(workdir), thehive4_case("Spam"), oauth_config)
        campaign_job = write_job(Path(workdir), thehive4_case("Spam", reporters), config)
        large = [f"reporter{i}@example.org" for i in range(LARGE)]
        large_job = write_job(Path(workdir), thehive4_case("Spam", large), config)
        graph_items = {"delivery": "graph", "graph_url": graph.url, **oauth}
        graph_config = cortex_config({**base, **graph_items}, cacerts=certificates.ca_pem)
        graph_job = write_job(Path(workdir), thehive4_case("Spam", reporters), graph_config)
        graph_floor = [str(GRAPH_FLOOR), f"{graph.url}/v1.0/users/{MAILBOX}/sendMail", str(cafile), TOKEN]
        # Started by path, through its #! line, as Cortex starts the job.
        floor = [str(FLOOR), server.host, str(server.port), str(cafile), USER, PASSWORD]

        singles = {
            "floor: 1 message": [*floor, "1", "one-session"],
            "job: 1 reporter": [str(SCRIPT), str(one_job)],
            "job: 1 reporter, OAuth2 login": [str(SCRIPT), str(oauth_job)],
        }
        if mailer:
            singles[MAILER] = mailer_command(mailer, Path(workdir), server, certificates.ca_pem)
        rows = medians(rounds, singles)
        rows |= medians(
            campaign_rounds,
            {
                f"floor: {CAMPAIGN} messages, one session": [*floor, str(CAMPAIGN), "one-session"],
                f"floor: {CAMPAIGN} messages, a connection each": [*floor, str(CAMPAIGN), "per-message"],
                f"job: {CAMPAIGN} reporters": [str(SCRIPT), str(campaign_job)],
                f"floor: {CAMPAIGN} Graph posts, one session": [*graph_floor, str(CAMPAIGN)],
                f"job: {CAMPAIGN} reporters through Graph": [str(SCRIPT), str(graph_job)],
            },
        )
        rows |= medians(1, {f"job: {LARGE} reporters": [str(SCRIPT), str(large_job)]})
        counted = (
            instructions([*floor, "1", "one-session"]),
            instructions([str(SCRIPT), str(one_job)]),
            responder_floor(),
        )
        loaded = modules_loaded_by(write_job(Path(workdir), thehive4_case("Spam"), config), HEAVY)
        delivered = len(server.delivered) + len(graph.accepted)
        graph_connections = graph.connections
    entra.stop()
    graph.close()

    machine = f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()}"
    print(f"machine: {machine}, Python {platform.python_version()}, load average {os.getloadavg()[0]:.2f}")
    print(f"rounds: {rounds} (single), {campaign_rounds} (campaign); {delivered} messages delivered in all\n")
    print(f"{'run':<48} {'wall s':>8} {'CPU s':>8} {'peak RSS MiB':>13}")
    for name, (seconds, cpu, rss) in rows.items():
        print(f"{name:<48} {seconds:>8.3f} {cpu:>8.3f} {rss / 1024:>13.1f}")
    campaign, one_session = f"job: {CAMPAIGN} reporters", f"floor: {CAMPAIGN} messages, one session"
    print()
    print(ratio(rows, "job: 1 reporter", "floor: 1 message", "one job / floor", "CPU <= 0.99"))
    if mailer:
        print(ratio(rows, "job: 1 reporter", MAILER, "one job / Cortex-Analyzers' Mailer", "CPU <= 0.60"))
    print(ratio(rows, campaign, one_session, f"{CAMPAIGN}-reporter job / floor over one session", "CPU <= 0.80"))
    print(ratio(rows, campaign, f"floor: {CAMPAIGN} messages, a connection each", "... / one connection per message"))
    per_message = rows[f"job: {LARGE} reporters"][1] / LARGE / (rows[campaign][1] / CAMPAIGN)
    label = f"a message at {LARGE} reporters / at {CAMPAIGN}"
    print(f"{label:<52} CPU {per_message:.2f}  (1.0: linear)")
    graph_campaign = f"job: {CAMPAIGN} reporters through Graph"
    print(
        ratio(
            rows,
            graph_campaign,
            f"floor: {CAMPAIGN} Graph posts, one session",
            "... through Graph / its floor",
            "CPU <= 1.0",
        )
    )
    print(f"TLS connections Graph saw ({campaign_rounds} job run(s), as many floor runs): {graph_connections}")
    print(f"peak RSS of the {CAMPAIGN}-reporter job: {rows[campaign][2] / 1024:.1f} MiB (target < 40)")
    extra = [(rows["job: 1 reporter, OAuth2 login"][i] - rows["job: 1 reporter"][i]) * 1000 for i in (1, 0)]
    print(f"an OAuth2 login's extra cost (the token request): CPU {extra[0]:.1f} ms, wall {extra[1]:.1f} ms")
    if None not in counted:
        print(f"instructions, one job / floor (callgrind):           {counted[1] / counted[0]:.2f}")
        print(f"... the floor as a responder (the least such a job costs) / floor: {1 + counted[2] / counted[0]:.2f}")
    print(f"import time of phish_feedback: {import_time() / 1000:.1f} ms")
    print(f"loaded by a plain case job, of {', '.join(HEAVY)}: {', '.join(loaded) or 'none'}")
    print("\n".join(scrub_lines()))


if __name__ == "__main__":
    main()
