"""The recipes of README.md and docs/: ```sh blocks preceded by `<!-- recipe: NAME -->`, as tests run them."""

from __future__ import annotations

import re

from testkit.cortex import REPO

DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
RECIPE = re.compile(r"^[ \t]*<!-- recipe: ([\w-]+) -->\n[ \t]*```sh\n(.*?)^[ \t]*```", re.MULTILINE | re.DOTALL)


def recipes() -> dict[str, str]:
    """Each recipe's lines, stripped of the indentation of the list item it stands in."""
    found = {}
    for document in DOCUMENTS:
        for name, body in RECIPE.findall(document.read_text(encoding="utf-8")):
            assert name not in found, f"two recipes named {name}"
            found[name] = "\n".join(line.strip() for line in body.splitlines())
    return found
