"""The demo: a sample phishing-report case through the real responder, run as Cortex runs it.

It starts a STARTTLS + AUTH SMTP server on loopback, runs one job, and prints what Cortex would
read (output.json) and what the reporter would receive.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from testkit.cases import thehive4_case
from testkit.certificates import Certificates
from testkit.cortex import cortex_config, run_job
from testkit.smtp_faults import PASSWORD, USER
from testkit.smtp_server import LoopbackSmtp


def main(arguments: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="./dev demo", description=__doc__.splitlines()[0])
    parser.add_argument(
        "verdict",
        nargs="?",
        default="Phishing",
        help="the case's verdict: Phishing (default), Spam, Legit email, Simulation",
    )
    verdict = parser.parse_args(arguments).verdict
    certificates = Certificates()
    case = thehive4_case(verdict, ["alice@example.org"], title="Phishing report: Your mailbox is almost full")
    with LoopbackSmtp(certificates) as server, tempfile.TemporaryDirectory() as workdir:
        config = cortex_config(
            {
                "from": "Security Operations Centre <soc@example.org>",
                "smtp_host": server.host,
                "smtp_port": server.port,
                "smtp_user": USER,
                "smtp_password": PASSWORD,
            },
            cacerts=certificates.ca_pem,
        )
        print(f"== Case #{case['caseId']} '{case['title']}', verdict {verdict}, tags {case['tags']}")
        print(f"== SMTP server on {server.host}:{server.port} (STARTTLS, AUTH required)")
        result = run_job(Path(workdir), case, config)
        print("== Cortex output (output.json)")
        print(json.dumps(result.output, indent=2, ensure_ascii=False))
        for delivered in server.delivered:
            print(delivered.shown())
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
