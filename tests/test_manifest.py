"""The manifest as Cortex parses it: one malformed item and Cortex drops them all silently.

See docs/cortex-and-thehive.md §3.
"""

from __future__ import annotations

import json
import os
import re
import subprocess

from testkit.cortex import MANIFEST, REPO

JSON_TYPES = {"string": str, "text": str, "number": (int, float), "boolean": bool}
ISSUE_ITEMS = {
    "from": ("string", True, None),
    "smtp_host": ("string", True, "localhost"),
    "smtp_port": ("number", True, 25),
    "smtp_security": ("string", False, "starttls"),
    "smtp_user": ("string", False, None),
    "smtp_password": ("string", False, None),
    "custom_field": ("string", True, "phishFeedback"),
    "title_prefix": ("string", False, "Phishing report"),
    "sent_tag": ("string", True, "mail sent"),
}


def manifest() -> dict:
    return json.loads(MANIFEST.read_text(encoding="utf-8"))


def test_required_fields_are_strings_and_the_name_has_no_white_space():
    m = manifest()
    for key in ("name", "version", "author", "url", "license", "description", "command", "baseConfig"):
        assert isinstance(m[key], str) and m[key], key
    assert not re.search(r"\s", m["name"])
    assert m["name"] == "Phish_Feedback"
    assert m["dataTypeList"][0] == "thehive:case"


def test_command_is_an_executable_python3_script_under_the_responders_root():
    script = REPO / manifest()["command"]
    assert os.access(script, os.X_OK)
    assert script.read_text(encoding="utf-8").startswith("#!/usr/bin/env python3\n")


def test_every_configuration_item_is_complete_and_its_default_has_its_type():
    for item in manifest()["configurationItems"]:
        assert {"name", "description", "type", "multi", "required"} <= item.keys(), item
        assert item["type"] in JSON_TYPES, item
        assert isinstance(item["multi"], bool) and isinstance(item["required"], bool), item
        if "defaultValue" in item:
            default = item["defaultValue"]
            assert isinstance(default, JSON_TYPES[item["type"]]), item
            assert not (item["type"] == "number" and isinstance(default, bool)), item


def test_the_items_admins_rely_on_keep_their_names_types_and_defaults():
    items = {item["name"]: item for item in manifest()["configurationItems"]}
    for name, (kind, required, default) in ISSUE_ITEMS.items():
        assert items[name]["type"] == kind, name
        assert items[name]["required"] is required, name
        assert items[name].get("defaultValue") == default, name


def test_no_other_json_file_sits_beside_the_manifest():
    assert sorted(p.name for p in MANIFEST.parent.glob("*.json")) == ["PhishFeedback.json"]


# What Cortex-Analyzers' catalog CI refuses (its publish-catalogs workflow), docs/cortex-and-thehive.md §1b.
CATALOG_CI_FIELDS = (
    *("name", "version", "author", "url", "license"),
    *("description", "dataTypeList", "command", "baseConfig"),
)
CATALOG_CI_ITEM_FIELDS = {"name", "description", "type", "multi", "required"}
IMAGE = "registry.example.org/soc/phish_feedback:1.0"


def catalog_ci_problems(definition: dict) -> list[str]:
    problems = [f"missing {key}" for key in CATALOG_CI_FIELDS if key not in definition]
    name = definition.get("name", "")
    if re.search(r"\s|[/\\]|\.\.", name):
        problems.append(f"unsafe name {name!r}")
    if not isinstance(definition.get("dataTypeList"), list):
        problems.append("dataTypeList is not a list")
    problems += [
        f"configurationItems[{index}] lacks {sorted(CATALOG_CI_ITEM_FIELDS - item.keys())}"
        for index, item in enumerate(definition.get("configurationItems", []))
        if not CATALOG_CI_ITEM_FIELDS <= item.keys()
    ]
    return problems


def test_manifest_passes_the_checks_of_cortex_analyzers_catalog_ci():
    assert catalog_ci_problems(manifest()) == []


def test_the_checks_of_cortex_analyzers_catalog_ci_catch_what_they_refuse():
    broken = dict(manifest(), name="Phish Feedback/../x", configurationItems=[{"name": "from"}])
    del broken["baseConfig"]

    assert catalog_ci_problems(broken) == [
        "missing baseConfig",
        "unsafe name 'Phish Feedback/../x'",
        "configurationItems[0] lacks ['description', 'multi', 'required', 'type']",
    ]


def test_docs_fields_of_the_cortex_analyzers_site_are_set_and_their_pictures_exist():
    m = manifest()
    for key in ("registration_required", "subscription_required", "free_subscription"):
        assert isinstance(m[key], bool), key
    assert m["service_homepage"].startswith("https://")
    for screenshot in m["screenshots"]:
        assert (MANIFEST.parent / screenshot["path"]).is_file(), screenshot
    assert (MANIFEST.parent / "README.md").is_file()


def test_dev_catalog_prints_the_manifest_without_command_naming_the_image():
    done = subprocess.run([str(REPO / "dev"), "catalog", IMAGE], capture_output=True, text=True, check=True)
    catalog = json.loads(done.stdout)

    expected = manifest()
    del expected["command"]
    assert catalog == [dict(expected, dockerImage=IMAGE)]


def test_readme_configuration_table_says_what_the_manifest_says_for_every_item():
    from testkit.items_table import README, with_table

    readme = README.read_text(encoding="utf-8")

    assert with_table(readme, manifest()) == readme, "PhishFeedback/README.md's table is stale: run ./dev items"
    for item in manifest()["configurationItems"]:
        assert f"| `{item['name']}` |" in readme, item["name"]


def test_a_changed_description_makes_the_readme_table_stale():
    from testkit.items_table import README, with_table

    changed = manifest()
    changed["configurationItems"][0]["description"] = "Another meaning"

    assert with_table(README.read_text(encoding="utf-8"), changed) != README.read_text(encoding="utf-8")


def test_the_manifest_links_to_the_project_home_readme_names():
    import tomllib

    home = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["urls"]["Homepage"]
    m = manifest()

    assert m["url"].startswith(home + "#") and m["service_homepage"].startswith(home + "#")
    assert home in (REPO / "README.md").read_text(encoding="utf-8")


def test_dev_image_names_the_catalog_after_the_image_the_engine_made():
    from testkit.container import local_name

    assert local_name(["podman"], "phish_feedback:1.0") == "localhost/phish_feedback:1.0"
    assert local_name(["podman"], "registry.example.org/soc/phish_feedback:1.0").startswith("registry.")
    assert local_name(["docker"], "phish_feedback:1.0") == "phish_feedback:1.0"
