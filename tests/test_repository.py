"""The repository speaks of the project only: what a reader meets names no tracker, branch or builder."""

from __future__ import annotations

import re
import subprocess

from testkit.cortex import REPO

# A tracker's numbers, a working branch, and the kind of names a build's history leaves behind.
FOREIGN = re.compile(
    r"\bissues? #?\d+\b|\btickets? #?\d+\b|\(#\d+\)|\bbranch(es)? [a-z]+-[a-z]+\b|\bh-[a-z]+ at [0-9a-f]{7}\b"
    r"|\b(claude|anthropic|chatgpt|openai|copilot|subagent|llm)\b",
    re.IGNORECASE,
)


def tracked_text_files():
    names = (
        subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout.decode().split("\0")
    )
    for name in filter(None, names):
        path = REPO / name
        if path.name != "LICENSE" and path.is_file() and b"\0" not in path.read_bytes()[:4096]:
            yield name, path.read_text(encoding="utf-8", errors="replace")


def test_no_file_names_an_issue_number_a_branch_or_who_built_it():
    found = [
        f"{name}:{number}: {line.strip()[:100]}"
        for name, text in tracked_text_files()
        if name != "tests/test_repository.py"
        for number, line in enumerate(text.splitlines(), 1)
        if FOREIGN.search(line)
    ]
    assert not found, "\n".join(found)


def test_the_check_catches_what_it_is_for():
    for line in ("fixed in issue 18", "see #12 (#12)", "the branch h-smtp at a116aa8", "Written by Claude"):
        assert FOREIGN.search(line), line
    for line in ("the virtual delivery agent", "Entra issues a token", "RFC 5322 §3.6.4"):
        assert not FOREIGN.search(line), line


def test_the_responder_folder_readme_links_nothing_outside_the_folder():
    """The folder is copied alone into Cortex-Analyzers' responders/ tree: a link out of it would break there."""
    folder = REPO / "PhishFeedback"
    links = re.findall(r"\]\(([^)#\s]+)", (folder / "README.md").read_text(encoding="utf-8"))
    outside = [link for link in links if "://" not in link and not (folder / link).resolve().is_relative_to(folder)]
    missing = [link for link in links if "://" not in link and not (folder / link).exists()]
    assert links and not outside and not missing, (outside, missing)
