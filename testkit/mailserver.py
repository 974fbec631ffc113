"""`./dev mailserver`: a mail server on loopback to try the responder against before the real one.

STARTTLS with a certificate from a private CA, and a login, as a company relay wants them; it prints
the settings to paste into Cortex, writes the CA for Cortex's `cacerts`, shows each message it
receives, and stops at Ctrl-C. It is the tests' server (testkit/smtp_server.py), so it behaves as
the one the test suite trusts.
"""

from __future__ import annotations

import argparse
import logging
import queue
import signal
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

from testkit.certificates import Certificates
from testkit.cortex import REPO
from testkit.ports import free_port
from testkit.smtp_faults import PASSWORD, USER
from testkit.smtp_server import LoopbackSmtp

FOLDER = Path(".mailserver")


def settings_text(port: int, ca_file: Path, ca_pem: str) -> str:
    rows = [
        ("from", "an address of your reporters' domain, e.g. SOC <soc@example.org>"),
        ("", "(reporters of other domains: allowed_recipient_domains; this server takes any address)"),
        ("smtp_host", "localhost"),
        ("smtp_port", str(port)),
        ("smtp_security", "starttls"),
        ("smtp_auth", "password"),
        ("smtp_user", USER),
        ("smtp_password", PASSWORD),
    ]
    return "".join(
        [
            f"./dev mailserver: listening on localhost:{port} (127.0.0.1), STARTTLS and a login required.\n",
            "Settings for Cortex (Organisation → Responders → Phish_Feedback_1_0):\n",
            *(f"  {name:<14} {value}\n" for name, value in rows),
            f"cacerts: the CA below, also in {ca_file.resolve()}\n",
            ca_pem,
            "Each message received is shown below; Ctrl-C stops the server.\n",
        ]
    )


class _OneLine(logging.Filter):
    """aiosmtpd logs a client's failed TLS handshake with two tracebacks: an admin needs one sentence and a fix."""

    def __init__(self, ca_file: Path) -> None:
        super().__init__()
        self.ca_file = ca_file

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.exc_info:
            return True
        error = record.exc_info[1]
        cause = error.__cause__ or error
        if isinstance(cause, ssl.SSLError):
            print(
                f"./dev mailserver: a client broke off TLS ({getattr(cause, 'reason', None) or cause}): it does not"
                f" trust this server's certificate. Give it the CA in {self.ca_file.resolve()} (Cortex: cacerts).",
                flush=True,
            )
        else:
            print(f"./dev mailserver: a session ended on {type(error).__name__}: {error}", flush=True)
        return False


def login_text(login: tuple[str, bool]) -> str:
    user, accepted = login
    return f"./dev mailserver: login as '{user}' {'accepted' if accepted else 'refused (wrong user or password)'}"


def main(arguments: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="./dev mailserver", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=2525, help="port on 127.0.0.1 (default 2525)")
    parser.add_argument("--folder", type=Path, default=FOLDER, help="where ca.pem is written (default .mailserver)")
    options = parser.parse_args(arguments)
    # Python leaves Ctrl-C ignored when it starts ignored, as in a background job of a script (nohup, &).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    certificates = Certificates()
    options.folder.mkdir(parents=True, exist_ok=True)
    ca_file = options.folder / "ca.pem"
    ca_file.write_text(certificates.ca_pem, encoding="ascii")
    logging.getLogger("mail.log").addFilter(_OneLine(ca_file))
    try:
        server = LoopbackSmtp(certificates, port=options.port)
        server.__enter__()
    except OSError as busy:
        print(f"./dev mailserver: cannot listen on 127.0.0.1:{options.port} ({busy}); try --port", file=sys.stderr)
        return 1
    shown = logins = 0
    try:
        print(settings_text(options.port, ca_file, certificates.ca_pem), flush=True)
        while True:
            time.sleep(0.2)
            for login in server.logins[logins:]:
                print(login_text(login), flush=True)
                logins += 1
            for delivered in server.delivered[shown:]:
                print(delivered.shown(), flush=True)
                shown += 1
    except KeyboardInterrupt:
        print("./dev mailserver: stopped.", file=sys.stderr)
        return 0
    finally:
        server.__exit__()


class MailserverProcess:
    """`./dev mailserver` started as an admin starts it, its terminal output read as it comes."""

    def __init__(self, folder: Path, port: int | None = None) -> None:
        self.port, self.printed, self.ca_folder = port or free_port(), "", folder
        command = [str(REPO / "dev"), "mailserver", "--port", str(self.port), "--folder", str(folder)]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [self._lines.put(line) for line in self.process.stdout], daemon=True).start()

    def wait_for(self, text: str, within: float = 60) -> str:
        """Everything printed so far, once `text` is among it; fails with what was printed if it never comes."""
        import pytest  # a test's failure, for tests only: the server itself runs without pytest

        end = time.monotonic() + within
        while text not in self.printed:
            try:
                self.printed += self._lines.get(timeout=max(0.0, end - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"./dev mailserver never printed {text!r}; it printed:\n{self.printed}")
        return self.printed

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
