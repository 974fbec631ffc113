"""The code cites the project's own documents (docs/), each section by a number its document has.

A citation of a file the project does not have, or of a section its document lost or never had,
sends a reader nowhere; `docs/cortex-and-thehive.md` keeps its section numbers for this reason.
"""

from __future__ import annotations

import re
import subprocess

from testkit.cortex import REPO

SECTION = "\u00a7"
# `docs/x.md §4`, `docs/x.md §1, §3`, and a list carried over to the next line of a comment.
CITATION = re.compile(rf"docs/([\w-]+\.md)((?:[\s#*,]*(?:and\s+)?{SECTION}\s*\w+)+)")
# A standard's own sections: RFC 5321 §4.5.3.1.4.
STANDARD = re.compile(rf"RFC \d+(?:[\s,]*{SECTION}\s*[\w.]+)+")
CODE = ("PhishFeedback/", "testkit/", "tests/", "bench/", "demo/")


def code_files() -> list[tuple[str, str]]:
    """The code's files, this one aside: its examples are citations as they are written, right or wrong."""
    listed = subprocess.run(["git", "ls-files", "-z", "--", *CODE], cwd=REPO, capture_output=True, check=True)
    files = [(name, (REPO / name).read_bytes()) for name in filter(None, listed.stdout.decode().split("\0"))]
    return [(name, data.decode()) for name, data in files if b"\0" not in data and name != "tests/test_citations.py"]


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
