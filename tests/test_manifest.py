"""The manifest as Cortex parses it: one malformed item and Cortex drops them all silently.

See docs/cortex-and-thehive.md §3.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from testkit.cortex import ACKNOWLEDGE_MANIFEST, MANIFEST, MANIFESTS, REPO
from testkit.items_table import as_flavour

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


# Each flavour's manifest; every check of one manifest runs on both.
FLAVOURS = pytest.mark.parametrize("path", MANIFESTS, ids=[p.stem for p in MANIFESTS])


def manifest(path: Path = MANIFEST) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("path", "name", "flavour", "data_types"),
    [
        (MANIFEST, "Phish_Feedback", "verdict", ["thehive:case", "thehive:alert"]),
        (ACKNOWLEDGE_MANIFEST, "Phish_Feedback_Acknowledge", "acknowledge", ["thehive:alert", "thehive:case"]),
    ],
)
def test_required_fields_are_strings_and_the_name_has_no_white_space(path, name, flavour, data_types):
    m = manifest(path)
    for key in ("name", "version", "author", "url", "license", "description", "command", "baseConfig"):
        assert isinstance(m[key], str) and m[key], key
    assert not re.search(r"\s", m["name"])
    assert m["name"] == name
    assert m["dataTypeList"] == data_types
    assert m["config"] == {"flavour": flavour}


def test_both_flavours_run_the_same_script_and_share_one_configuration():
    verdict, acknowledge = manifest(MANIFEST), manifest(ACKNOWLEDGE_MANIFEST)

    assert acknowledge["command"] == verdict["command"]
    assert acknowledge["baseConfig"] == verdict["baseConfig"]
    # Cortex shows one configuration per baseConfig: an item one flavour lacks would be a setting it never gets.
    assert as_flavour(acknowledge, verdict) == acknowledge, (
        "run ./dev items: the flavours differ from PhishFeedback.json"
    )


@FLAVOURS
def test_command_is_an_executable_python3_script_under_the_responders_root(path):
    script = REPO / manifest(path)["command"]
    assert os.access(script, os.X_OK)
    assert script.read_text(encoding="utf-8").startswith("#!/usr/bin/env python3\n")


@FLAVOURS
def test_every_configuration_item_is_complete_and_its_default_has_its_type(path):
    for item in manifest(path)["configurationItems"]:
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


def test_no_other_json_file_sits_beside_the_manifests():
    assert sorted(p.name for p in MANIFEST.parent.glob("*.json")) == sorted(p.name for p in MANIFESTS)


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


@FLAVOURS
def test_manifest_passes_the_checks_of_cortex_analyzers_catalog_ci(path):
    assert catalog_ci_problems(manifest(path)) == []


def test_the_checks_of_cortex_analyzers_catalog_ci_catch_what_they_refuse():
    broken = dict(manifest(), name="Phish Feedback/../x", configurationItems=[{"name": "from"}])
    del broken["baseConfig"]

    assert catalog_ci_problems(broken) == [
        "missing baseConfig",
        "unsafe name 'Phish Feedback/../x'",
        "configurationItems[0] lacks ['description', 'multi', 'required', 'type']",
    ]


@FLAVOURS
def test_docs_fields_of_the_cortex_analyzers_site_are_set_and_their_pictures_exist(path):
    m = manifest(path)
    for key in ("registration_required", "subscription_required", "free_subscription"):
        assert isinstance(m[key], bool), key
    assert m["service_homepage"].startswith("https://")
    for screenshot in m["screenshots"]:
        assert (MANIFEST.parent / screenshot["path"]).is_file(), screenshot
    assert m["service_logo"]["caption"] == "logo"
    assert (MANIFEST.parent / m["service_logo"]["path"]).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert (MANIFEST.parent / "README.md").is_file()


def test_dev_catalog_prints_both_flavours_without_command_naming_the_image():
    done = subprocess.run([str(REPO / "dev"), "catalog", IMAGE], capture_output=True, text=True, check=True)
    catalog = json.loads(done.stdout)

    expected = [manifest(path) for path in MANIFESTS]
    for entry in expected:
        del entry["command"]
    assert catalog == [dict(entry, dockerImage=IMAGE) for entry in expected]
    assert [entry["name"] for entry in catalog] == ["Phish_Feedback", "Phish_Feedback_Acknowledge"]


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
    from testkit.image_build import local_name

    assert local_name(["podman"], "phish_feedback:1.0") == "localhost/phish_feedback:1.0"
    assert local_name(["podman"], "registry.example.org/soc/phish_feedback:1.0").startswith("registry.")
    assert local_name(["docker"], "phish_feedback:1.0") == "phish_feedback:1.0"


def test_the_image_lock_pins_every_requirement_cortex_installs():
    from testkit.image_lock import LOCK

    pinned = {line.split("==")[0] for line in LOCK.read_text(encoding="utf-8").splitlines() if "==" in line}
    lines = (MANIFEST.parent / "requirements.txt").read_text(encoding="utf-8").splitlines()
    wanted = [re.match(r"[A-Za-z0-9._-]+", line)[0] for line in lines if line.strip() and not line.startswith("#")]

    assert {name.lower() for name in wanted} <= pinned, "run ./dev lock: the image would lack a requirement"
