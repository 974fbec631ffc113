"""What `./dev items` writes from the main manifest: PhishFeedback/README.md's table and the other flavour's items.

An admin reads the descriptions in Cortex's form and the table in the README: generated from one
source, they cannot say different things. The acknowledgement flavour shares the configuration
(docs/flavours.md, "How Cortex sees the two flavours"), so its items and common fields are copied, never edited by hand.
tests/test_manifest.py fails while any of them differ.
"""

from __future__ import annotations

import json
import sys

from testkit.cortex import MANIFEST, MANIFESTS

README = MANIFEST.parent / "README.md"
BEGIN = (
    "<!-- configuration items: written by ./dev items from PhishFeedback.json; edit the manifest, not this table -->"
)
END = "<!-- end of configuration items -->"


def _cell(text: str) -> str:
    """Markdown would take `<soc@example.org>` or `<tenant>` for HTML, and `|` for a column."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")


def _default(item: dict) -> str:
    if "defaultValue" not in item:
        return ""
    value = item["defaultValue"]
    return f"`{json.dumps(value) if isinstance(value, bool) else value}`"


def table(manifest: dict) -> str:
    rows = ["| item | type | default | description |", "| --- | --- | --- | --- |"]
    for item in manifest["configurationItems"]:
        kind = item["type"] + (", several" if item["multi"] else "") + (", required" if item["required"] else "")
        rows.append(f"| `{item['name']}` | {kind} | {_default(item)} | {_cell(item['description'])} |")
    return "\n".join(rows)


def with_table(readme: str, manifest: dict) -> str:
    """The README text with the block between BEGIN and END replaced by the current table."""
    head, begin, rest = readme.partition(BEGIN)
    _, end, tail = rest.partition(END)
    if not begin or not end:
        raise SystemExit(f"{README} lacks the lines {BEGIN!r} … {END!r} around its configuration table.")
    return f"{head}{BEGIN}\n{table(manifest)}\n{END}{tail}"


# What every flavour has as the main manifest has it; name, description, config and dataTypeList are its own.
SHARED = ("version", "author", "url", "license", "baseConfig", "command", "service_homepage", "configurationItems")


def as_flavour(flavour: dict, main: dict) -> dict:
    return {**flavour, **{key: main[key] for key in SHARED if key in main}}


def main() -> None:
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    README.write_text(with_table(README.read_text(encoding="utf-8"), manifest), encoding="utf-8")
    for path in MANIFESTS[1:]:
        flavour = as_flavour(json.loads(path.read_text(encoding="utf-8")), manifest)
        path.write_text(json.dumps(flavour, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(
        f"./dev items: {len(manifest['configurationItems'])} items written to {README} and the flavours",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
