"""The statistics page of sample data, and its picture for README: `./dev statspage [FOLDER]`.

Generated phishing-report cases (testkit/report_cases.py) are served by a loopback TheHive 5 case search
(testkit/thehive_cases.py); thehive_stats.py reads them as it reads a real TheHive and writes the page,
which Chromium shoots into docs/statistics.png. The page is kept in FOLDER (a temporary one by default).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from pytest_httpserver import HTTPServer

from demo.screenshots import CHROMIUM, QUIET
from testkit.cortex import REPO
from testkit.report_cases import generate
from testkit.thehive_api import API_KEY
from testkit.thehive_cases import CaseSearch

SCRIPT = REPO / "PhishFeedback" / "thehive_stats.py"
PICTURE = REPO / "docs" / "statistics.png"
WINDOW = "--window-size=840,1640"


def write_page(folder: Path, count: int = 900) -> Path:
    """thehive_stats.py's page of `count` sample cases, read from a loopback TheHive 5."""
    server = HTTPServer(host="127.0.0.1")
    server.start()
    try:
        hive = CaseSearch(server, "5", generate(count, seed=2026, days=180, reporters=160))
        page = folder / "statistics.html"
        subprocess.run(
            [str(SCRIPT), "--url", hive.url, "--top", "10", "--html", str(page)],
            env={**os.environ, "THEHIVE_APIKEY": API_KEY},
            check=True,
            capture_output=True,
        )
    finally:
        server.stop()
    return page


def shoot(page: Path, picture: Path, profile: Path) -> None:
    subprocess.run(
        [*CHROMIUM, *QUIET, f"--user-data-dir={profile}", WINDOW, f"--screenshot={picture}", page.as_uri()],
        check=True,
        capture_output=True,
    )


def main() -> int:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp())
    folder.mkdir(parents=True, exist_ok=True)
    page = write_page(folder)
    shoot(page, PICTURE, folder / "profile")
    print(f"wrote {page} and {PICTURE.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
