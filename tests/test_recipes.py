"""The recipes in README.md and docs/, run as written, so that the documents and the test cannot drift apart.

A runnable recipe is a ```sh block preceded by `<!-- recipe: NAME -->`. Each one is either run here,
in a temporary folder against loopback servers, or covered by a test that needs what this one
cannot have (root, apt, podman, the network): COVERED_ELSEWHERE names it, and the lines that test
relies on must still be in the recipe.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from testkit.cortex import REPO
from testkit.image_lock import BASE_PYTHON, WHEEL_PLATFORM
from testkit.recipes import DOCUMENTS, recipes
from testkit.records import told, untimed

# Recipes whose commands another test runs, and the commands that test takes from them.
COVERED_ELSEWHERE = {
    "process-runner-install": (
        "testkit/cortex_host.py",
        [
            "python3 -m venv PhishFeedback/.venv",
            "PhishFeedback/.venv/bin/pip install -r PhishFeedback/requirements.txt",
        ],
    ),
    "thehive-setup": (
        "tests/test_thehive_setup.py",
        ["export THEHIVE_APIKEY='<API key of a TheHive admin>'", "PhishFeedback/thehive_setup.py --url https://"],
    ),
    "thehive-setup-page": (
        "tests/test_thehive_setup.py",
        ["export THEHIVE_APIKEY='<API key of a TheHive admin>'", "PhishFeedback/thehive_setup.py --url https://"],
    ),
    "thehive-stats": (
        "tests/test_stats.py",
        [
            "export THEHIVE_APIKEY='<API key of a user who may read the cases>'",
            "PhishFeedback/thehive_stats.py --url https://",
        ],
    ),
    "thehive-setup-dashboard": (
        "tests/test_dashboard.py",
        [
            "export THEHIVE_APIKEY='<API key of an org-admin of the SOC organisation>'",
            "PhishFeedback/thehive_setup.py --url https://",
            "--organisation SOC --dashboard",
        ],
    ),
    "real-mail-servers": (
        ".ci/run",
        [
            "postfix postfix/main_mailer_type select No configuration",
            "apt-get install -y",
            "postfix dovecot-core",
            "--no-install-recommends spamd spamc",
        ],
    ),
    "entra-certificate": (
        "tests/test_client_certificate.py",
        ["openssl req -x509 -newkey rsa:2048 -sha256", "cat phishfeedback.cer phishfeedback.key"],
    ),
    "offline-image": (
        "tests/test_container.py",
        [
            f"--only-binary=:all: --python-version {BASE_PYTHON} --platform {WHEEL_PLATFORM}",
            "-r PhishFeedback/requirements.lock",
            "--build-arg PIP_NO_INDEX=1 --build-arg PIP_FIND_LINKS=/wheels",
        ],
    ),
}


# The recipes that call TheHive's API with curl: what TheHive must receive from each.
THEHIVE_CALLS = {
    "thehive5-run-responder": ("POST", "/api/v1/connector/cortex/action", "objectType"),
    "thehive4-notification": ("PUT", "/api/config/organisation/notification", "value"),
}


def run_recipe(name: str, folder: Path, port: int) -> subprocess.CompletedProcess:
    """The recipe's lines by bash, from a folder laid out as a clone; the only change: the mail server's port."""
    for part in ("PhishFeedback", ".venv"):
        (folder / part).symlink_to(REPO / part)
    script = recipes()[name].replace("2525", str(port))
    return subprocess.run(["bash", "-c", script], cwd=folder, capture_output=True, text=True, timeout=120)


def printed_output(done: subprocess.CompletedProcess) -> dict:
    """output.json as the recipe's last command prints it."""
    return json.loads(done.stdout[done.stdout.index("{") :])


def test_every_recipe_is_run_here_or_by_the_test_that_covers_it():
    assert set(recipes()) == {"one-job-by-hand", "worker-names", *THEHIVE_CALLS, *COVERED_ELSEWHERE}


@pytest.mark.parametrize("name", sorted(COVERED_ELSEWHERE))
def test_a_recipe_covered_elsewhere_still_holds_the_commands_that_test_runs(name):
    flat = " ".join(recipes()[name].replace("\\\n", " ").split())
    test, commands = COVERED_ELSEWHERE[name]
    assert (REPO / test).is_file()
    for command in commands:
        assert command in flat, f"{name} lacks {command!r}, which {test} runs"


def test_one_job_by_hand_previews_through_the_local_mail_server(mailserver, tmp_path):
    (tmp_path / ".mailserver").symlink_to(mailserver.ca_folder)

    done = run_recipe("one-job-by-hand", tmp_path, mailserver.port)

    output = printed_output(done)
    assert output["success"] is True, done.stdout + done.stderr
    assert [message["to"] for message in output["full"]["preview"]] == ["alice@example.org"]
    assert "== Delivered" not in mailserver.printed


def test_one_job_by_hand_prints_the_output_of_a_failed_job_too(tmp_path, certificates):
    from testkit.ports import free_port

    (tmp_path / ".mailserver").mkdir()
    (tmp_path / ".mailserver" / "ca.pem").write_text(certificates.ca_pem)

    done = run_recipe("one-job-by-hand", tmp_path, free_port())

    output = printed_output(done)
    assert output["success"] is False
    assert "refused the connection" in output["errorMessage"], output["errorMessage"]


def test_ci_runs_the_test_command_readme_gives_first():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    first_block = readme.split("```sh\n", 1)[1].split("```", 1)[0]
    assert first_block.splitlines()[:2] == [
        "./dev demo    # a sample case through the real responder and an SMTP server on loopback",
        "./dev test    # the whole test suite",
    ]
    assert "\n./dev test\n" in (REPO / ".ci" / "run").read_text(encoding="utf-8")


def anchors(markdown: str) -> set[str]:
    """The anchors GitHub makes of a document's headings."""
    headings = re.findall(r"^#+ (.+)$", markdown, re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}


@pytest.mark.parametrize("document", DOCUMENTS + [REPO / "PhishFeedback" / "README.md"], ids=lambda p: p.name)
def test_every_link_between_the_documents_leads_somewhere(document):
    text = document.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"https?:", target):
            continue
        path, _, anchor = target.partition("#")
        linked = (document.parent / path).resolve() if path else document
        assert linked.exists(), f"{document.name} links to {target}, which does not exist"
        if anchor and linked.suffix == ".md":
            assert anchor in anchors(linked.read_text(encoding="utf-8")), f"{document.name}: no #{anchor} in {path}"


def test_the_case_docs_ingestion_shows_is_answered_as_the_page_says(cortex, smtp):
    page = (REPO / "docs" / "ingestion.md").read_text(encoding="utf-8")
    case = json.loads(
        page.split("## The case as the responder receives it", 1)[1].split("```json\n")[1].split("```")[0]
    )

    result = cortex(case)

    assert result.success, result.error
    smtp.assert_each_got_exactly_one(["alice@example.org", "bob@example.org"])
    assert sorted(untimed(result)) == sorted([*told("Spam", "alice@example.org", "bob@example.org"), "mail sent"])


def test_worker_names_prints_both_flavours_as_cortex_names_them(tmp_path):
    version = json.loads((REPO / "PhishFeedback" / "PhishFeedback.json").read_text(encoding="utf-8"))["version"]
    (tmp_path / "PhishFeedback").symlink_to(REPO / "PhishFeedback")

    done = subprocess.run(["bash", "-c", recipes()["worker-names"]], cwd=tmp_path, capture_output=True, text=True)

    worker = version.replace(".", "_")
    assert done.stdout.split() == [f"Phish_Feedback_{worker}", f"Phish_Feedback_Acknowledge_{worker}"], done.stderr


@pytest.mark.parametrize("name", sorted(THEHIVE_CALLS))
def test_a_curl_recipe_sends_thehive_the_call_it_describes(name, certificates, tmp_path):
    from pytest_httpserver import HTTPServer

    from testkit.thehive_api import API_KEY

    method, path, key = THEHIVE_CALLS[name]
    (tmp_path / "ca.pem").write_text(certificates.ca_pem)
    server = HTTPServer(host="127.0.0.1", ssl_context=certificates.server_context())
    server.start()
    try:
        server.expect_request(path, method=method, headers={"Authorization": f"Bearer {API_KEY}"}).respond_with_json({})
        script = re.sub(r"https://thehive4?\.example\.org", server.url_for("").rstrip("/"), recipes()[name])
        env = {"PATH": "/usr/bin:/bin", "THEHIVE_APIKEY": API_KEY, "CURL_CA_BUNDLE": str(tmp_path / "ca.pem")}
        done = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60)
        (request, _), *others = server.log
    finally:
        server.stop()

    assert done.returncode == 0, done.stderr
    assert others == [] and key in request.get_json()


def test_every_sh_block_of_the_documents_is_a_recipe():
    """So that no block escapes the tests above; README's first block is CI's own command (checked above)."""
    for document in DOCUMENTS:
        text = document.read_text(encoding="utf-8")
        blocks = len(re.findall(r"^[ \t]*```sh$", text, re.MULTILINE))
        marked = len(re.findall(r"<!-- recipe: [\w-]+ -->\n[ \t]*```sh$", text, re.MULTILINE))
        assert blocks - marked == (1 if document.name == "README.md" else 0), document.name


def test_dev_demo_help_says_how_to_call_it_and_runs_no_job():
    shown = subprocess.run([str(REPO / "dev"), "demo", "--help"], capture_output=True, text=True, timeout=120)

    assert shown.returncode == 0 and "usage: ./dev demo" in shown.stdout and "Legit email" in shown.stdout
    assert "== Case" not in shown.stdout
