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


# --- The code cites the project's own documents, each section by a number that exists ------------

SECTION = "\u00a7"
# `docs/x.md §4`, `docs/x.md §1, §3`, and a list carried over to the next line of a comment.
CITATION = re.compile(rf"docs/([\w-]+\.md)((?:[\s#*,]*(?:and\s+)?{SECTION}\s*\w+)+)")
# A standard's own sections: RFC 5321 §4.5.3.1.4.
STANDARD = re.compile(rf"RFC \d+(?:[\s,]*{SECTION}\s*[\w.]+)+")
CODE = ("PhishFeedback/", "testkit/", "tests/", "bench/", "demo/")


def code_files():
    """The code's files, this one aside: its examples are citations as they are written, right or wrong."""
    return [
        (name, text)
        for name, text in tracked_text_files()
        if name.startswith(CODE) and name != "tests/test_repository.py"
    ]


def numbered_sections(document: str) -> set[str]:
    """The numbers of a document's headings: `## 1b. The docker …` is 1b."""
    return set(re.findall(r"^#+\s+(\w+)\.\s", document, re.MULTILINE))


def test_every_section_of_the_docs_that_the_code_cites_exists():
    wrong = []
    for name, text in code_files():
        for citation in CITATION.finditer(text):
            document = REPO / "docs" / citation[1]
            numbers = numbered_sections(document.read_text(encoding="utf-8")) if document.is_file() else set()
            wrong += [
                f"{name}: docs/{citation[1]} {SECTION}{number}"
                for number in re.findall(rf"{SECTION}\s*(\w+)", citation[2])
                if number not in numbers
            ]
    assert not wrong, "\n".join(wrong)


def test_every_section_sign_in_the_code_names_its_document():
    """A section of a file the project does not have (a notes file), or of no file at all, is no citation."""
    unnamed = []
    for name, text in code_files():
        cited = [range(*m.span()) for pattern in (CITATION, STANDARD) for m in pattern.finditer(text)]
        for sign in re.finditer(SECTION, text):
            if not any(sign.start() in span for span in cited):
                line = text.count("\n", 0, sign.start()) + 1
                unnamed.append(f"{name}:{line}: {text[max(0, sign.start() - 40) : sign.start() + 10]!r}")
    assert not unnamed, "\n".join(unnamed)


def test_the_citation_checks_read_citations_as_they_are_written():
    written = "(docs/cortex-and-thehive.md §1,\n    # §1b: killed) and RFC 4954 §4, then (NOTES §8b)"
    cited = [(m[1], re.findall(rf"{SECTION}\s*(\w+)", m[2])) for m in CITATION.finditer(written)]

    assert cited == [("cortex-and-thehive.md", ["1", "1b"])]
    assert [m[0] for m in STANDARD.finditer(written)] == ["RFC 4954 §4"]
    assert numbered_sections("# Title\n## 1b. Runners\n### 8b. APIs\n## Errors\n") == {"1b", "8b"}
