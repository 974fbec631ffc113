"""thehive_setup.py run as an admin runs it, against TheHive 4.1's and 5's custom-field API over HTTPS on loopback."""

from __future__ import annotations

import base64
import functools
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from pytest_httpserver import HTTPServer

from feedback.case import VERDICTS
from feedback.redaction import MASK
from testkit.ports import free_port
from testkit.proxy import ConnectProxy
from testkit.thehive_api import API_KEY
from testkit.thehive_fields import CustomFieldApi
from testkit.trickler import Trickler

SCRIPT = Path(__file__).resolve().parent.parent / "PhishFeedback" / "thehive_setup.py"


@pytest.fixture(params=[4, 5], ids=["thehive4.1", "thehive5"])
def hive(request, thehive_https) -> CustomFieldApi:
    """TheHive 4.1, then TheHive 5: the test runs on each."""
    return CustomFieldApi(thehive_https, request.param)


@pytest.fixture
def hive5(thehive_https) -> CustomFieldApi:
    return CustomFieldApi(thehive_https, 5)


@pytest.fixture
def hive4(thehive_https) -> CustomFieldApi:
    return CustomFieldApi(thehive_https, 4)


@pytest.fixture
def setup(thehive_command):
    """Runs the script as an admin would (`thehive_command`)."""
    return functools.partial(thehive_command, SCRIPT)


def test_creates_the_verdict_field_on_thehive5(setup, hive5):
    result = setup(hive5.url)

    assert result.returncode == 0, result.stderr
    assert hive5.writes == [
        (
            "POST",
            "/api/v1/customField",
            {
                "name": "phishFeedback",
                "displayName": "phishFeedback",
                "group": "PhishFeedback",
                "description": hive5.writes[0][2]["description"],
                "type": "string",
                "mandatory": False,
                "options": list(VERDICTS),
            },
        )
    ]
    assert hive5.field("phishFeedback")["options"] == list(VERDICTS)
    assert "Created" in result.stdout and "'phishFeedback'" in result.stdout


def test_creates_the_verdict_field_on_thehive41_through_v0_never_its_v1_create(setup, hive4):
    result = setup(hive4.url)

    assert result.returncode == 0, result.stderr
    assert [(method, path) for method, path, _ in hive4.writes] == [("POST", "/api/customField")]
    assert hive4.writes[0][2]["reference"] == "phishFeedback"
    field = hive4.field("phishFeedback")
    assert (field["type"], field["options"]) == ("string", list(VERDICTS))


def test_field_named_with_field_option(setup, hive):
    assert setup(hive.url, "--field", "verdict").returncode == 0

    assert [field["name"] for field in hive.fields] == ["verdict"]


def test_missing_verdicts_are_added_and_other_options_kept(setup, hive):
    existing = hive.add("phishFeedback", options=["Phishing", "False positive", "spam "])

    result = setup(hive.url)

    assert result.returncode == 0, result.stderr
    missing = [v for v in VERDICTS if v not in ("Phishing", "Spam")]
    assert existing["options"] == ["Phishing", "False positive", "spam ", *missing]
    assert [(method, path) for method, path, _ in hive.writes] == [
        ("PATCH", ("/api/v1/customField/" if hive.major == 5 else "/api/customField/") + existing["id"])
    ]
    assert "Added" in result.stdout and "'False positive'" in result.stdout


def test_second_run_changes_nothing_and_says_so(setup, hive):
    assert setup(hive.url).returncode == 0
    made = list(hive.writes)

    again = setup(hive.url)

    assert again.returncode == 0, again.stderr
    assert hive.writes == made
    assert again.stdout.startswith(f"TheHive {hive.major} at {hive.url}: Nothing changed")


def test_field_of_another_type_is_an_error_and_left_alone(setup, hive):
    hive.add("phishFeedback", type="boolean")

    result = setup(hive.url)

    assert result.returncode == 1
    assert hive.writes == []
    assert "'phishFeedback' of type 'boolean'" in result.stderr and "Nothing was changed" in result.stderr
    assert len(result.stderr.splitlines()) == 1 and result.stdout == ""


def test_field_of_another_type_whose_id_is_a_number_is_an_error_and_left_alone(setup, hive):
    hive.add("phishFeedback", type="boolean")["id"] = 1

    result = setup(hive.url)

    assert result.returncode == 1
    assert hive.writes == []
    assert "'phishFeedback' of type 'boolean'" in result.stderr and "Nothing was changed" in result.stderr


def test_a_field_listed_without_an_id_is_not_written_and_the_options_to_add_are_named(setup, hive):
    hive.add("phishFeedback", options=["Phishing"])["id"] = None

    result = setup(hive.url)

    assert result.returncode == 1 and hive.writes == []
    assert "without an id, which adding its options needs. Nothing was changed. Add 'Spam'," in result.stderr


@pytest.mark.parametrize("mark", ["\u200b", "\x1b", "\u2066"], ids=["zero-width-space", "escape", "bidi-isolate"])
def test_key_echoed_in_the_fields_options_or_type_with_a_character_between_is_masked(setup, hive, mark):
    """TheHive's own text is shown with its invisible characters escaped: the key must be masked before that."""
    echoed = f"{API_KEY[:16]}{mark}{API_KEY[16:]}"
    hive.add("phishFeedback", options=[*VERDICTS, echoed])
    listed = setup(hive.url)
    hive.field("phishFeedback")["type"] = echoed
    refused = setup(hive.url)

    assert listed.returncode == 0 and refused.returncode == 1, (listed.stderr, refused.stderr)
    for shown in (listed.stdout, refused.stderr):
        assert API_KEY[:16] not in shown and API_KEY[16:] not in shown, shown


def test_a_field_listed_with_a_huge_type_or_countless_options_is_said_in_a_short_sentence(setup, hive):
    hive.add("phishFeedback", options=[*VERDICTS, *(f"option {n}" for n in range(50_000))])
    listed = setup(hive.url)
    hive.field("phishFeedback")["type"] = "boolean" + "\u200b" * 100_000
    refused = setup(hive.url)

    assert listed.returncode == 0 and listed.stdout.rstrip().endswith("'option 5' and 49994 more.")
    assert refused.returncode == 1 and "of type 'boolean" in refused.stderr
    assert len(listed.stdout) < 1000 and len(refused.stderr) < 1000


@pytest.mark.parametrize("echo", [False, True], ids=["plain", "key-echoed"])
def test_refused_key_is_one_line_and_never_shown(setup, hive, echo):
    hive.echo = echo
    wrong = "hive-WrongKey-9876543210abcdef"

    result = setup(hive.url, apikey=wrong)

    assert result.returncode == 1
    assert "refused the API key (HTTP 401)" in result.stderr and "THEHIVE_APIKEY" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert wrong not in result.stdout + result.stderr and hive.writes == []


def test_key_echoed_by_thehive_in_a_refusal_is_masked(setup, hive):
    hive.echo = hive.refuse_writes = True

    result = setup(hive.url)

    assert result.returncode == 1
    assert "HTTP 400" in result.stderr and MASK in result.stderr
    assert API_KEY not in result.stdout + result.stderr


@pytest.mark.parametrize("script", ["thehive_setup.py", "thehive_stats.py"])
def test_a_proxy_login_from_the_environment_that_an_answer_quotes_is_masked(
    thehive_command, thehive_https, monkeypatch, script
):
    """A TLS-inspecting proxy (trusted through --cacerts) may quote in its page the Proxy-Authorization it was sent."""
    login = "soc-proxy:Pr0xy-zq8Xv7Lk3"
    basic = base64.b64encode(login.encode()).decode()
    quoted = {"type": "AuthenticationError", "message": f"proxy saw Basic {basic} from {login}"}
    thehive_https.expect_request("/api/v1/status").respond_with_json(quoted, status=400)
    proxy = ConnectProxy()
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.setenv("HTTPS_PROXY", proxy.url.replace("http://", f"http://{login}@"))
    try:
        result = thehive_command(SCRIPT.parent / script, thehive_https.url_for("/").rstrip("/"))
    finally:
        proxy.close()

    assert proxy.tunnels == [f"127.0.0.1:{thehive_https.port}"]
    assert result.returncode == 1 and "HTTP 400" in result.stderr and MASK in result.stderr
    assert "Pr0xy" not in result.stdout + result.stderr and basic[8:] not in result.stdout + result.stderr


def test_a_redirect_is_said_as_never_followed_and_the_key_kept_from_its_url(setup, thehive_https):
    thehive_https.expect_request("/api/v1/status").respond_with_data(
        "", status=302, headers={"Location": "https://sso.example.org/login?next=/api"}
    )

    result = setup(thehive_https.url_for("/").rstrip("/"))

    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith(
        f"thehive_setup: TheHive at {thehive_https.url_for('/').rstrip('/')} answered with a redirect (HTTP 302) to"
        " https://sso.example.org, which is never followed. The API key goes to no other URL. Check --url"
    )


@pytest.mark.parametrize(
    "url_encoded",
    [
        lambda key: quote(key, safe=""),
        quote,  # '/' left as it is, as in a path
        lambda key: re.sub("%[0-9A-F]{2}", lambda escape: escape.group().lower(), quote(key, safe="")),
    ],
    ids=["query", "path", "lower-case"],
)
def test_key_echoed_url_encoded_is_masked(setup, hive, url_encoded):
    # TheHive 4's keys are base64: most hold '+' or '/', which a URL writes as %2B and %2F.
    hive.echo_as, hive.refuse_writes = url_encoded, True
    hive.key = "q7+Lm2/Xc9Rt4+Vb8/Nw1Ze5+Kp0/Hy3"

    result = setup(hive.url, apikey=hive.key)

    assert result.returncode == 1 and "HTTP 400" in result.stderr and MASK in result.stderr
    assert "Lm2" not in result.stdout + result.stderr


@pytest.mark.parametrize("mark", ["\u200b", "\u00ad", "\u2060"], ids=["zero-width-space", "soft-hyphen", "word-joiner"])
def test_key_echoed_with_invisible_characters_between_its_characters_is_masked(setup, hive, mark):
    hive.echo_as = lambda key: mark.join(key[i : i + 4] for i in range(0, len(key), 4))
    hive.refuse_writes, hive.key = True, "q7rLm2hXc9Rt4xVb8kNw1Ze5jKp0sHy3"

    result = setup(hive.url, apikey=hive.key)

    assert result.returncode == 1 and "HTTP 400" in result.stderr and MASK in result.stderr
    assert "q7rL" not in result.stdout + result.stderr and "sHy3" not in result.stdout + result.stderr


@pytest.mark.parametrize("status", [500, 502, 504])
def test_a_server_error_to_the_create_says_the_field_may_have_been_made(setup, hive, status):
    hive.after_write = (status, "<html><body>Server Error</body></html>")

    result = setup(hive.url)

    assert result.returncode == 1
    assert f"answered HTTP {status} to POST" in result.stderr
    assert result.stderr.rstrip().endswith("The change may have been made: run the command again to see.")
    assert [field["name"] for field in hive.fields] == ["phishFeedback"]


def test_a_create_whose_connection_thehive_refused_does_not_say_the_field_may_have_been_made(
    setup, hive, thehive_https
):
    """TheHive stopped after the script read its fields: the create never reached it, so nothing was changed."""
    [fields] = [handler for handler in thehive_https.handlers if handler.request_handler == hive._answer]
    listed = fields.request_handler

    def list_then_stop(request):
        if request.method == "GET":
            thehive_https.server.socket.shutdown(socket.SHUT_RDWR)  # the next connection is refused
        return listed(request)

    fields.request_handler = list_then_stop
    result = setup(hive.url)

    assert result.returncode == 1
    assert "could not be reached (the connection was refused)" in result.stderr
    assert "may have been made" not in result.stderr and hive.writes == []


def test_a_create_answered_with_an_unreadable_success_is_done(setup, hive):
    hive.after_write = (201, "<html><body>Created</body></html>")

    result = setup(hive.url)

    assert result.returncode == 0, result.stderr
    assert [field["name"] for field in hive.fields] == ["phishFeedback"]


@pytest.mark.parametrize("name", ["", "phish feedback", "customFields.verdict", "1verdict"])
def test_a_field_name_thehive_could_not_use_is_refused_before_any_call(setup, hive, name):
    result = setup(hive.url, "--field", name)

    assert result.returncode == 2
    assert "is no field name" in result.stderr
    assert hive.writes == [] and hive.fields == []


def test_a_url_where_no_thehive_4_or_5_answers_says_so(setup):
    with HTTPServer(host="127.0.0.1") as other:
        other.no_handler_status_code = 404  # as TheHive 3, which has no /api/v1
        other.expect_request("/api/status").respond_with_json({"versions": {"TheHive": "3.5.1"}})
        result = setup(other.url_for("/").rstrip("/"))

    assert result.returncode == 1
    assert "no TheHive 4 or 5 answers there" in result.stderr and "Nothing was changed." in result.stderr


def test_a_server_error_where_thehive_should_answer_says_what_to_check(setup):
    with HTTPServer(host="127.0.0.1") as other:
        other.expect_request("/api/v1/status").respond_with_data("<html>Bad Gateway</html>", status=502)
        result = setup(other.url_for("/").rstrip("/"))

    assert result.returncode == 1
    assert "answered HTTP 502 to GET /api/v1/status" in result.stderr
    assert "TheHive, or a proxy in front of it, is failing there: check that --url is TheHive's own address" in (
        result.stderr
    )


@pytest.mark.parametrize("shown", ["phishFeedback", "PHISHFEEDBACK"])
def test_a_field_shown_with_the_name_under_another_internal_name_is_not_made_twice(setup, hive, shown):
    made = hive.add("phish_feedback", options=VERDICTS)
    made["displayName"] = shown

    result = setup(hive.url)

    assert result.returncode == 1
    assert f"shown as '{shown}', whose internal name is 'phish_feedback'" in result.stderr
    assert "--field phish_feedback" in result.stderr and "Nothing was changed" in result.stderr
    assert hive.writes == [] and len(hive.fields) == 1


@pytest.mark.parametrize("internal", ["phish.feedback", "phish feedback", "1phishFeedback"])
def test_a_field_shown_with_the_name_under_an_internal_name_the_command_cannot_take_is_to_be_renamed(
    setup, hive, internal
):
    """Run again with --field and that name, the command would refuse it: the sentence does not send the admin there."""
    hive.add(internal, options=VERDICTS)["displayName"] = "phishFeedback"

    result = setup(hive.url)

    assert result.returncode == 1
    assert f"whose internal name is '{internal}'" in result.stderr
    assert "That name is none this command takes" in result.stderr and "rename or delete that field" in result.stderr
    assert "--field" not in result.stderr
    assert hive.writes == []


def test_output_to_a_full_disk_is_said_in_one_line_once_the_field_is_made(setup, hive5):
    with open("/dev/full", "w") as full:
        result = setup(hive5.url, stdout=full)

    assert result.returncode == 1
    assert result.stderr == (
        "thehive_setup: Standard output could not be written (No space left on device), so what the command did is"
        " not shown: run it again with its output going to a terminal or a file that can take it.\n"
    )
    assert [write[:2] for write in hive5.writes] == [("POST", "/api/v1/customField")]


def test_output_the_shell_closed_is_dropped_and_the_field_made(setup, hive5):
    result = setup(hive5.url, stdout=None, preexec_fn=lambda: os.close(1))

    assert result.returncode == 0 and result.stderr == ""
    assert [write[:2] for write in hive5.writes] == [("POST", "/api/v1/customField")]


def test_an_https_address_where_thehive_speaks_plain_http_is_one_line(setup):
    with HTTPServer(host="127.0.0.1") as plain:
        result = setup(plain.url_for("/").rstrip("/").replace("http://", "https://"))

    assert result.returncode == 1 and len(result.stderr.splitlines()) == 1, result.stderr
    assert "nothing speaks HTTPS at that address: check the URL's scheme and port" in result.stderr


def test_unreachable_thehive_is_one_line(setup):
    result = setup(f"https://127.0.0.1:{free_port()}")

    assert result.returncode == 1
    assert "could not be reached" in result.stderr and len(result.stderr.splitlines()) == 1


def test_untrusted_certificate_is_one_line_and_changes_nothing(setup, hive5):
    result = setup(hive5.url, trusted=False)

    assert result.returncode == 1
    assert "could not be verified" in result.stderr and "--cacerts" in result.stderr
    assert len(result.stderr.splitlines()) == 1 and hive5.writes == []


def test_missing_key_is_one_line(setup, hive5):
    result = setup(hive5.url, apikey="")

    assert result.returncode == 1
    assert "THEHIVE_APIKEY" in result.stderr and hive5.writes == []


def test_organisation_is_sent_with_every_call(setup, hive5, thehive_https):
    assert setup(hive5.url, "--organisation", "SOC").returncode == 0

    assert {request.headers.get("X-Organisation") for request, _ in thehive_https.log} == {"SOC"}


def test_python_without_requests_nor_virtual_environment_is_told_what_to_install(bare_python, hive5, tmp_path):
    copy = shutil.copytree(SCRIPT.parent, tmp_path / "PhishFeedback", ignore=shutil.ignore_patterns(".venv"))
    env = {**os.environ, "THEHIVE_APIKEY": API_KEY}
    command = [str(bare_python / "python3"), str(copy / SCRIPT.name), "--url", hive5.url]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)

    assert result.returncode == 1
    assert "requests is not installed" in result.stderr and "python3 -m venv PhishFeedback/.venv" in result.stderr
    assert len(result.stderr.splitlines()) == 1 and hive5.writes == []


@pytest.mark.slow
def test_system_python_without_requests_runs_in_the_responders_virtual_environment(
    bare_python, hive5, thehive_ca, tmp_path
):
    # README's installation, from Cortex's responders folder; then the command as README writes it, whose
    # `#!/usr/bin/env python3` finds the host's python3, which lacks requests.
    responders = tmp_path / "responders"
    shutil.copytree(SCRIPT.parent, responders / "PhishFeedback", ignore=shutil.ignore_patterns(".venv", "__pycache__"))
    for step in (
        [sys.executable, "-m", "venv", "PhishFeedback/.venv"],
        ["PhishFeedback/.venv/bin/pip", "install", "--quiet", "-r", "PhishFeedback/requirements.txt"],
    ):
        subprocess.run(step, cwd=responders, check=True)
    env = {**os.environ, "THEHIVE_APIKEY": API_KEY, "PATH": f"{bare_python}:/usr/bin:/bin"}
    command = ["PhishFeedback/thehive_setup.py", "--url", hive5.url, "--cacerts", str(thehive_ca)]

    result = subprocess.run(command, cwd=responders, env=env, capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stderr
    assert "Created the string custom field 'phishFeedback'" in result.stdout
    assert [write[:2] for write in hive5.writes] == [("POST", "/api/v1/customField")]


def test_key_typed_on_the_command_line_is_refused_without_being_echoed(setup, hive5):
    result = setup(hive5.url, "--apikey", API_KEY)

    assert result.returncode == 2 and "unrecognized arguments" in result.stderr
    assert API_KEY not in result.stderr and hive5.writes == []


@pytest.mark.parametrize("recipe", ["thehive-setup", "thehive-setup-page"])
def test_the_documented_recipe_creates_the_field_as_written(recipe, hive5, thehive_ca, tmp_path):
    from testkit.recipes import recipes

    # The recipe's own lines, run from a clone; only TheHive's address and key are this test's.
    script = recipes()[recipe].replace("https://thehive.example.org", hive5.url)
    script = script.replace("<API key of a TheHive admin>", API_KEY)
    (tmp_path / "PhishFeedback").symlink_to(SCRIPT.parent)
    env = {**os.environ, "SSL_CERT_FILE": str(thehive_ca)}

    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stderr
    assert "Created the string custom field 'phishFeedback'" in done.stdout
    assert [write[:2] for write in hive5.writes] == [("POST", "/api/v1/customField")]


def test_plain_http_url_to_another_host_is_refused_before_any_call(setup):
    result = setup("http://thehive.example.org:9000")

    assert result.returncode == 1
    assert (
        "--url must be an https URL: over http:// to thehive.example.org, which is not this machine, the API"
        " key (THEHIVE_APIKEY) would cross the network in clear text." in result.stderr
    )
    assert len(result.stderr.splitlines()) == 1


# The last two as typed, not percent-encoded: the '/' or the space ends the host, which would be "admin".
@pytest.mark.parametrize("password", ["S3cret-pass", "2024/Spring!", "Spring 2024!"])
def test_a_url_with_a_user_and_password_is_refused_before_any_call_and_never_printed(
    setup, hive5, thehive_https, password
):
    with_login = hive5.url.replace("https://", f"https://admin:{password}@")

    result = setup(with_login)

    assert result.returncode == 1
    assert "with no user or password in it (the key comes from THEHIVE_APIKEY)" in result.stderr
    assert "Spring" not in result.stdout + result.stderr and "S3cret" not in result.stdout + result.stderr
    assert thehive_https.log == []


@pytest.mark.parametrize("typed", ["127.0.0.1:9000", "thehive.example.org", "ftp://thehive.example.org"])
def test_a_url_without_https_is_told_it_needs_its_scheme_not_that_it_holds_a_password(setup, typed):
    result = setup(typed)

    assert result.returncode == 1
    assert "--url must be TheHive's address with its scheme, like https://thehive.example.org." in result.stderr
    assert "password" not in result.stderr


def test_a_url_pasted_with_its_trailing_slash_is_the_same_thehive(setup, hive):
    result = setup(hive.url + "/")

    assert result.returncode == 0, result.stderr
    assert hive.field("phishFeedback")["options"] == list(VERDICTS)
    assert all(not path.startswith("//") for _, path, _ in hive.writes)


def test_plain_http_url_to_this_machine_is_used(setup):
    server = HTTPServer(host="127.0.0.1")
    server.start()
    try:
        hive = CustomFieldApi(server, 5)
        result = setup(hive.url.replace("127.0.0.1", "localhost"))
    finally:
        server.stop()

    assert result.returncode == 0, result.stderr
    assert hive.url.startswith("http://") and hive.field("phishFeedback")["options"] == list(VERDICTS)


def test_a_thehive_newer_than_5_is_spoken_to_as_5(setup, hive5):
    hive5.version = "6.0.1-1"

    result = setup(hive5.url)

    assert result.returncode == 0, result.stderr
    assert [write[:2] for write in hive5.writes] == [("POST", "/api/v1/customField")]


def test_version_thousands_of_digits_long_is_one_sentence(setup, hive5):
    hive5.version = "4" * 5000 + ".1"

    result = setup(hive5.url)

    assert result.returncode == 1
    assert "TheHive did not say its version" in result.stderr and len(result.stderr.splitlines()) == 1
    assert hive5.writes == []


def test_key_outside_latin1_is_one_sentence_naming_it(setup, hive5):
    result = setup(hive5.url, apikey="hive-ключ-0123456789")

    assert result.returncode == 1
    assert result.stderr.startswith("thehive_setup: THEHIVE_APIKEY holds a character that an HTTP header cannot carry")
    assert len(result.stderr.splitlines()) == 1 and "ключ" not in result.stderr and hive5.writes == []


def test_organisation_outside_latin1_is_one_sentence_naming_it(setup, hive5):
    result = setup(hive5.url, "--organisation", "Отдел безопасности")

    assert result.returncode == 1
    assert result.stderr.startswith("thehive_setup: --organisation holds a character that an HTTP header cannot carry")
    assert len(result.stderr.splitlines()) == 1 and hive5.writes == []


def test_field_id_from_thehive_is_sent_as_one_path_segment(setup, hive):
    existing = hive.add("phishFeedback", options=["Phishing"])
    existing["id"] = "~41?force=true#x"

    result = setup(hive.url)

    assert result.returncode == 0, result.stderr
    route = "/api/v1/customField/" if hive.major == 5 else "/api/customField/"
    assert [(method, path) for method, path, _ in hive.writes] == [("PATCH", route + "~41?force=true#x")]
    assert existing["options"] == ["Phishing", *(v for v in VERDICTS if v != "Phishing")]


def test_control_characters_in_thehive_options_are_shown_escaped(setup, hive):
    hive.add("phishFeedback", options=["Phishing\x1b[2J\x1b]0;owned\x07"])

    result = setup(hive.url)

    assert result.returncode == 0, result.stderr
    assert "'Phishing\\x1b[2J\\x1b]0;owned\\x07'" in result.stdout and "\x1b" not in result.stdout


def test_control_characters_in_thehive_errors_are_shown_escaped(setup, hive5):
    hive5.add("phishFeedback", type="boolean\r\x1b[32mall fine")

    result = setup(hive5.url)

    assert result.returncode == 1
    assert "of type 'boolean\\r\\x1b[32mall fine'" in result.stderr
    assert "\x1b" not in result.stderr and len(result.stderr.splitlines()) == 1


def test_thehive_trickling_its_answer_is_cut_at_the_commands_time_limit(setup, certificates):
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
    # It trickles longer than the test waits for the command (setup's 120 s): only the limit ends it.
    trickler = Trickler(head, pace=0.5, lasting=600, tls=certificates.server_context())
    try:
        result = setup(f"https://127.0.0.1:{trickler.port}", "--time-limit", "3")
    finally:
        trickler.close()

    assert result.returncode == 1
    assert (
        f"TheHive at https://127.0.0.1:{trickler.port} did not finish answering within 3 s, the time this command"
        " allows itself in all (--time-limit)." in result.stderr
    )
    assert "Nothing was changed." in result.stderr and len(result.stderr.splitlines()) == 1


def test_a_field_named_alike_but_for_capitals_is_not_made_a_second_time(setup, hive):
    """An admin made `PhishFeedback` by hand, shown as 'Verdict': a field `phishFeedback` beside it would show two
    verdict fields, and the statistics would read the empty one."""
    field = hive.add("PhishFeedback", options=list(VERDICTS))
    field["displayName"] = "Verdict"

    result = setup(hive.url)

    assert result.returncode == 1 and hive.writes == []
    assert "run this again with --field PhishFeedback" in result.stderr


def test_a_field_option_beyond_ascii_is_printed_escaped_where_standard_output_is_not_utf8(setup, hive5, monkeypatch):
    """A host in a Latin-1 or C locale: the sentence that quotes TheHive's options is printed, never a traceback."""
    hive5.add("phishFeedback", options=["Légitime ✓"])
    monkeypatch.setenv("PYTHONIOENCODING", "ascii")

    result = setup(hive5.url)

    assert result.returncode == 0, result.stderr
    assert "L\\xe9gitime \\u2713" in result.stdout and result.stderr == ""
    assert [method for method, _, _ in hive5.writes] == ["PATCH"]


def test_a_reader_that_stops_reading_the_output_is_no_error(hive5, thehive_ca):
    env = {**os.environ, "THEHIVE_APIKEY": API_KEY}
    command = f"'{SCRIPT}' --url {hive5.url} --cacerts '{thehive_ca}' | true"

    done = subprocess.run(["bash", "-o", "pipefail", "-c", command], env=env, capture_output=True, text=True)

    assert done.returncode == 0 and done.stderr == ""
    assert hive5.field("phishFeedback")["options"] == list(VERDICTS)


def test_ctrl_c_while_thehive_answers_ends_with_a_sentence_that_says_to_run_it_again(hive5, interrupted_command):
    hive5.slow = 5.0

    code, out, err = interrupted_command(SCRIPT, hive5.url, lambda: hive5.asked)

    assert code == 130 and out == ""
    assert err.strip() == (
        "thehive_setup: stopped before it ended: run it again to see what TheHive has; it never makes the field or"
        " the dashboard twice."
    )
