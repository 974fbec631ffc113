"""SpamAssassin as a reporter's mail server runs it: its daemon, spamd, scoring what spamc hands it.

Started once per test worker, in the foreground, on a spare loopback port: a message then costs about a
tenth of a second, where `spamassassin` loads its rules again at every call (a second of CPU). Local tests
only (-L: no DNS, no network) and no user's preferences (-x). Its site configuration is the installed one's
plugin list (the *.pre files) and the settings below: Bayes off, since its score depends on what a site
learned, not on the message; and trusted and internal networks that hold neither hop the message took from
Cortex, so that the last hop counts as external. Scored from loopback alone, a message would be ALL_TRUSTED
(docs/real-mail-servers.md).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from testkit.ports import free_port

# The recipient's side; the relay (an address of example.org's, routable) and Cortex's host are outside it.
RECEIVING_NETWORK = "192.0.2.0/24"
SETTINGS = f"""\
trusted_networks {RECEIVING_NETWORK}
internal_networks {RECEIVING_NETWORK}
use_bayes 0
bayes_auto_learn 0
"""
SITE_CONFIGURATION = Path("/etc/spamassassin")
# Debian puts spamd in /usr/sbin, on root's PATH only.
SEARCHED = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"])
# What a score may take before the test fails rather than hang: spamc would wait 600 s.
SCORE_TIMEOUT = 60
# One row of SpamAssassin's report: points, rule name, description.
RULE_ROW = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s+([A-Z0-9_]+)\s+(.*)$")


def received_from_outside(content: bytes, date: str) -> bytes:
    """The message as the reporter's MX stores it: the relay's and the MX's Received lines on top."""
    hops = (
        "Received: from smtp.example.org (smtp.example.org [93.184.215.14])\r\n"
        f"\tby mx.example.net (Postfix) with ESMTPS id 4Zx1234\r\n\tfor <alice@example.org>; {date}\r\n"
        "Received: from cortex.example.org (cortex.example.org [10.20.30.40])\r\n"
        f"\tby smtp.example.org (Postfix) with ESMTPSA id 4Zw5678\r\n\tfor <alice@example.org>; {date}\r\n"
    )
    return hops.encode() + content


class Spamd:
    """A spamd of the tests' own, in a folder of its own, ended with its children."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="phishfeedback-spamd-"))
        self.root.chmod(0o755)
        for plugins in SITE_CONFIGURATION.glob("*.pre"):
            shutil.copy(plugins, self.root)
        (self.root / "local.cf").write_text(SETTINGS, encoding="utf-8")
        self.port = free_port()
        # Its log in a file: a pipe no one reads would stop spamd once full.
        self.log = self.root / "spamd.log"
        self.process: subprocess.Popen | None = None

    @staticmethod
    def installed() -> bool:
        return shutil.which("spamd", path=SEARCHED) is not None and shutil.which("spamc", path=SEARCHED) is not None

    def start(self, timeout: float = 60) -> None:
        """Ready once spamc's ping is answered: spamd reads its rules before it listens."""
        # As root, spamd would run its children as nobody anyway, saying so; it is told so, and says nothing.
        user = ["-u", "nobody"] if os.geteuid() == 0 else []
        self.process = subprocess.Popen(
            [
                shutil.which("spamd", path=SEARCHED),
                "-L",
                "-x",
                f"--listen=127.0.0.1:{self.port}",
                f"--siteconfigpath={self.root}",
                "--min-children=1",
                "--max-children=1",
                f"--syslog={self.log}",
                *user,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        end = time.monotonic() + timeout
        while self._spamc("-K").returncode:
            if self.process.poll() is not None or time.monotonic() > end:
                log = self.log_text()
                self.stop()
                raise RuntimeError(f"spamd did not start: {log}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # spamd ends its children, then itself
            self.process.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def score(self, message: bytes) -> tuple[float, list[tuple[float, str, str]]]:
        """The score and the rules that fired (points, name, description), from the report spamc -R gives."""
        done = self._spamc("-R", message)
        report = done.stdout.decode("utf-8", "replace")
        if done.returncode or "Content analysis details:" not in report:
            raise RuntimeError(f"spamc failed ({done.returncode}): {done.stderr!r}; spamd's log:\n{self.log_text()}")
        score = float(report.split("/", 1)[0])
        table = report.split("Content analysis details:", 1)[1].split("\n---- ", 1)[1].split("\n", 1)[1]
        rules = []
        for line in table.splitlines():
            row = RULE_ROW.match(line)
            if not row:
                break
            rules.append((float(row.group(1)), row.group(2), row.group(3).strip()))
        return score, rules

    def _spamc(self, action: str, message: bytes = b"") -> subprocess.CompletedProcess:
        # -x: an error is an error, where spamc would hand the message back unscored.
        return subprocess.run(
            [
                shutil.which("spamc", path=SEARCHED),
                "-x",
                "-t",
                str(SCORE_TIMEOUT),
                "-d",
                "127.0.0.1",
                "-p",
                str(self.port),
                action,
            ],
            input=message,
            capture_output=True,
            timeout=SCORE_TIMEOUT + 10,
        )
