"""Pictures of what a reporter receives, for README: each message rendered by a dry run, shot by Chromium.

Needs Debian's chromium: `./dev shots` writes docs/<message>.png (each verdict's, and the acknowledgement's).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from testkit.cases import thehive4_case
from testkit.certificates import Certificates
from testkit.cortex import ACKNOWLEDGE_MANIFEST, MANIFEST, REPO, cortex_config, run_job
from testkit.smtp_faults import PASSWORD, USER
from testkit.smtp_server import LoopbackSmtp

CHROMIUM = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars"]
QUIET = ["--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic"]


def main() -> int:
    # Each picture: the case's verdict, and the flavour that answers it.
    messages = {
        "phishing": ("Phishing", MANIFEST),
        "spam": ("Spam", MANIFEST),
        "legit": ("Legit email", MANIFEST),
        "simulation": ("Simulation", MANIFEST),
        "acknowledge": (None, ACKNOWLEDGE_MANIFEST),
    }
    certificates = Certificates()
    # The dry run logs in before it renders: a loopback server answers it.
    with tempfile.TemporaryDirectory() as workdir, LoopbackSmtp(certificates) as smtp:
        items = {"from": "SOC <soc@example.org>", "dry_run": True, "smtp_host": smtp.host, "smtp_port": smtp.port}
        items.update(smtp_user=USER, smtp_password=PASSWORD)
        for name, (verdict, manifest) in messages.items():
            case = thehive4_case(verdict, ["alice@example.org"], title="Phishing report: Your mailbox is almost full")
            config = cortex_config(items, cacerts=certificates.ca_pem, manifest=manifest)
            html = run_job(Path(workdir), case, config).output["full"]["preview"][0]["html"]
            page = Path(workdir, f"{name}.html")
            page.write_text(html, encoding="utf-8")
            shot = REPO / "docs" / f"{name}.png"
            profile = f"--user-data-dir={Path(workdir, 'profile')}"
            subprocess.run(
                [*CHROMIUM, *QUIET, profile, "--window-size=680,560", f"--screenshot={shot}", page.as_uri()],
                check=True,
                capture_output=True,
            )
            print(f"wrote {shot.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
