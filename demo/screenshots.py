"""Pictures of what a reporter receives, for README: each verdict rendered by a dry run, shot by Chromium.

Needs Debian's chromium: `./dev shots` writes docs/<verdict>.png.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from testkit.cases import thehive4_case
from testkit.cortex import REPO, cortex_config, run_job

CHROMIUM = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars"]
QUIET = ["--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic"]


def main() -> int:
    verdicts = {"phishing": "Phishing", "spam": "Spam", "legit": "Legit email"}
    with tempfile.TemporaryDirectory() as workdir:
        for name, verdict in verdicts.items():
            case = thehive4_case(verdict, ["alice@example.org"], title="Phishing report: Your mailbox is almost full")
            config = cortex_config({"from": "SOC <soc@example.org>", "dry_run": True})
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
