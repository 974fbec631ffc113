"""The job on whatever Cortex host runs it: the host's locale, the Python settings in its environment, its proxies,
and what it finds in the job folder. Each runs the script by path, as Cortex's process runner does."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from testkit import keys
from testkit.cases import thehive4_case, thehive5_case
from testkit.cortex import REPO, finish_job, package_version, peak_rss_kib, run_job, start_job, write_job
from testkit.http_faults import CUT_SHORT
from testkit.https_server import HttpsServer, Reply
from testkit.proxy import ConnectProxy
from testkit.records import notified
from testkit.thehive_api import gzip_bomb
from testkit.token_endpoint import CLIENT_ID, certificate_item

TITLE = "Phishing report: Facture impayée"
# A Python that reads the input in ASCII: the C locale without the UTF-8 mode Python turns on there by itself.
# The versions of the packages the responder needs that Debian 12 ships (its python3-requests, -urllib3, -cryptography).
DEBIAN_12 = ["requests==2.28.1", "urllib3==1.26.12", "cryptography==38.0.4"]
ASCII_HOST = {"LC_ALL": "C", "LANG": None, "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}


@pytest.fixture(scope="session")
def latin1_host(tmp_path_factory) -> dict[str, str | None]:
    """The environment of a host whose services run in Latin-1 (LANG=fr_FR.ISO-8859-1), as older RHEL and SUSE
    hosts do: the locale made from Debian's `locales` definitions. CI must have them."""
    folder = tmp_path_factory.mktemp("locales")
    if shutil.which("localedef") and os.path.isdir("/usr/share/i18n/locales"):
        command = ["localedef", "-i", "fr_FR", "-f", "ISO-8859-1", str(folder / "fr_FR.ISO-8859-1")]
        subprocess.run(command, capture_output=True, check=False)  # 1: made, with warnings
    if not (folder / "fr_FR.ISO-8859-1").exists():
        if os.environ.get("CI") == "true":
            pytest.fail("CI must try a host in Latin-1: apt-get install locales")
        pytest.skip("needs Debian's locale definitions to make a Latin-1 locale (apt-get install locales)")
    return {"LOCPATH": str(folder), "LANG": "fr_FR.ISO-8859-1", "LC_ALL": None}


@pytest.mark.parametrize("host", ["latin1", "ascii"])
def test_the_cases_words_reach_the_reporter_as_written_whatever_the_hosts_locale(cortex, smtp, request, host):
    """Cortex writes input.json in UTF-8; read in the host's Latin-1 the title would reach alice as 'impayÃ©e', and
    in ASCII not at all."""
    environment = request.getfixturevalue("latin1_host") if host == "latin1" else ASCII_HOST
    result = cortex(thehive4_case(title=TITLE), subject="Re: {case_title}", environment=environment)

    assert result.success, result.error
    assert str(smtp.delivered[0].message["Subject"]) == f"Re: {TITLE}"


def test_a_host_that_keeps_the_scripts_folder_off_pythons_path_still_gets_the_job_done(cortex, smtp):
    """PYTHONSAFEPATH, which a hardened host may set, leaves the folder the responder's package is in off sys.path:
    the job ended in a traceback with no report."""
    result = cortex(thehive4_case(), environment={"PYTHONSAFEPATH": "1"})

    assert result.success, result.error
    assert smtp.recipients() == ["alice@example.org"]


def test_all_proxy_of_the_hosts_environment_does_not_carry_the_requests_to_thehive(cortex, smtp, thehive_tls):
    """Of the environment, the responder takes HTTPS_PROXY, HTTP_PROXY and NO_PROXY alone (docs/security.md): an
    ALL_PROXY that curl reads would have sent TheHive's requests, its key among them, to another host."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{closed.getsockname()[1]}"
    url = thehive_tls.url_for("/").rstrip("/")
    result = cortex(
        thehive5_case("Spam", ()), thehive_url=url, thehive_apikey="hive-key", environment={"ALL_PROXY": nowhere}
    )

    assert result.success, result.error
    assert smtp.recipients() == ["bob@example.org"]


def test_a_link_left_where_the_job_keeps_room_beside_its_report_is_not_followed(tmp_path, job_config, smtp):
    """The job writes in its own folder alone: a link at output/.output.reserve must not have a file elsewhere
    overwritten with the room it keeps."""
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("keep me\n")
    folder = write_job(tmp_path, thehive4_case(), job_config())
    (folder / "output").mkdir()
    (folder / "output" / ".output.reserve").symlink_to(outside)
    result = finish_job(start_job(folder), folder)

    assert result.success, result.error
    assert outside.read_text() == "keep me\n"


@pytest.mark.parametrize("command", ["thehive_setup.py", "thehive_stats.py"])
def test_the_admins_commands_start_on_a_host_that_keeps_their_folder_off_pythons_path(command):
    python = os.path.dirname(sys.executable)
    environment = {**os.environ, "PYTHONSAFEPATH": "1", "PATH": os.pathsep.join((python, os.environ["PATH"]))}
    done = subprocess.run(
        [str(REPO / "PhishFeedback" / command), "--help"], env=environment, capture_output=True, text=True, timeout=60
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage:")


def test_the_report_is_as_readable_as_the_hosts_umask_makes_new_files(tmp_path, job_config, smtp):
    """Cortex may read output.json as another user than the job's (its docker runner writes as the folder's owner):
    the report is made with the permissions any new file of the job's gets, never fewer."""
    folder = write_job(tmp_path, thehive4_case(), job_config())
    result = finish_job(start_job(folder), folder)
    probe = tmp_path / "probe"
    probe.touch()

    assert result.success, result.error
    assert (folder / "output" / "output.json").stat().st_mode & 0o777 == probe.stat().st_mode & 0o777


@pytest.fixture(scope="session")
def debian12_python(tmp_path_factory) -> Path:
    """The folder of a python3 with what Debian 12's python3-requests and python3-cryptography install (requests on
    urllib3 1.x, a cryptography before 39), as on a host whose Cortex runs the system's Python: the responder's
    requirements at those versions."""
    venv = tmp_path_factory.mktemp("debian12") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    requirements = REPO / "PhishFeedback" / "requirements.txt"
    install = [str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", "-r", str(requirements)]
    subprocess.run([*install, *DEBIAN_12], check=True)
    return venv / "bin"


@pytest.fixture(params=["newest", "debian12"])
def stack(request, debian12_python) -> Path | None:
    """The folder of the python3 a test's job runs on: the tests' own (None), or one with Debian 12's packages. Named
    as a parameter, even where the test's variant does not use it: conftest.py keeps the tests that name it on one
    worker, which builds it once, and runs them on no other Python."""
    return debian12_python if request.param == "debian12" else None


@pytest.mark.slow
def test_a_host_whose_requests_sits_on_urllib3_1_reaches_thehive_at_an_ip_address(
    debian12_python, tmp_path, job_config, smtp, thehive_tls
):
    """urllib3 1.x wraps a connection to an IP address without its name, which a context that checks names refuses:
    every request to TheHive at https://10.0.0.5 ended the job as a bug."""
    url = thehive_tls.url_for("/").rstrip("/")
    config = job_config(thehive_url=url, thehive_apikey="hive-key")
    result = run_job(tmp_path, thehive5_case("Spam", ()), config, python_dir=debian12_python)

    assert result.success, result.error
    assert smtp.recipients() == ["bob@example.org"]
    assert package_version("urllib3", debian12_python)[0] == 1


def test_a_host_whose_requests_sits_on_urllib3_1_still_refuses_a_certificate_for_another_name(
    debian12_python, tmp_path, job_config, smtp, certificates
):
    elsewhere = certificates.server_context(certificates.ca.issue_cert("thehive.example.org"))
    thehive = HTTPServer(host="127.0.0.1", ssl_context=elsewhere)
    thehive.start()
    try:
        url = thehive.url_for("/").rstrip("/")
        config = job_config(thehive_url=url, thehive_apikey="hive-key")
        result = run_job(tmp_path, thehive5_case("Spam", ()), config, python_dir=debian12_python)
        asked = thehive.log
    finally:
        thehive.stop()

    assert not result.success
    assert f"The certificate of TheHive at {url} could not be verified" in result.error
    assert asked == [] and smtp.delivered == []


def test_a_host_whose_requests_sits_on_urllib3_1_counts_a_message_whose_answer_broke_off_as_sent_once(
    debian12_python, tmp_path, job_config, graph, graph_items
):
    """urllib3 1.x ends a body shorter than its Content-Length without a word: Graph's 202 cut short read as another
    party's page, the message it took was said unsent, and the next run would mail that reporter again."""
    graph.script.append(CUT_SHORT)
    case = thehive4_case("Spam", ["alice@example.org", "bob@example.org"])
    result = run_job(tmp_path, case, job_config(**graph_items), python_dir=debian12_python)

    assert result.success, result.error
    assert notified(result) == ["alice@example.org", "bob@example.org"]
    assert [str(to) for to in graph.recipients()] == ["alice@example.org", "bob@example.org"]


def test_a_server_error_whose_page_has_no_end_is_not_held_in_memory_before_the_read_is_tried_again(
    stack, tmp_path, job_config, thehive, api, smtp
):
    """TheHive's reads are tried again after a 5xx, and urllib3 1.x first read the answer whole to reuse its
    connection, however long: a 512 MB page took a job past a gigabyte, where it keeps 16 MB of TheHive's answers."""

    def padded(_request):
        return Response((b"<p>Busy</p>".ljust(1 << 20) for _ in range(256)), status=503, content_type="text/html")

    thehive.expect_request("/api/v1/query").respond_with_handler(padded)
    folder = write_job(tmp_path, thehive5_case("Spam", ()), job_config(**api))
    result = finish_job(start_job(folder, stack, measured=True), folder)

    assert not result.success and f"TheHive at {api['thehive_url']}" in result.error
    assert peak_rss_kib(result) < 100 << 10


def test_a_chunk_size_line_that_never_ends_is_read_no_further_than_any_chunks(
    stack, tmp_path, job_config, smtp, certificates
):
    """urllib3 1.x (and Ubuntu 24.04's 2.0.7) read the line that gives a chunk's size whole, however long: a TheHive
    that never ended one held the job's memory to the line's length (100 MB here)."""
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    endless = Reply(200, raw=head + b"1" * (100 << 20))
    with HttpsServer(certificates.server_context(), lambda _: endless) as thehive:
        config = job_config(thehive_url=thehive.url, thehive_apikey="hive-key")
        folder = write_job(tmp_path, thehive5_case("Spam", ()), config)
        result = finish_job(start_job(folder, stack, measured=True), folder)

    assert not result.success
    assert f"TheHive at {thehive.url} answered HTTP 200, then the answer was cut short" in result.error
    assert peak_rss_kib(result) < 100 << 10
    assert smtp.delivered == []


def test_a_compressed_answer_is_read_in_small_pieces_whatever_length_it_says(
    stack, tmp_path, job_config, smtp, thehive, api
):
    """A compressed answer's Content-Length is that of its compressed bytes: asked for in one read, urllib3 before 2.6
    inflates all that read brings at once (200 kB of gzip here, 200 MB inflated)."""
    bomb = gzip_bomb(200 << 20)
    thehive.expect_request("/api/v1/query").respond_with_response(
        Response(bomb, headers={"Content-Encoding": "gzip", "Content-Length": str(len(bomb))})
    )
    folder = write_job(tmp_path, thehive5_case("Spam", ()), job_config(**api))
    result = finish_job(start_job(folder, stack, measured=True), folder)

    assert not result.success
    assert f"TheHive at {api['thehive_url']} answered more than 16 MB" in result.error
    assert peak_rss_kib(result) < 100 << 10


def test_an_answer_compressed_twice_over_is_not_inflated(stack, tmp_path, job_config, smtp, thehive, api):
    """urllib3 before 2.6 inflates all that a read brings through a chain of codings: 16 kB of a body compressed twice
    over inflated to 200 MB in one read."""
    bomb = gzip_bomb(200 << 20, times=2)
    thehive.expect_request("/api/v1/query").respond_with_response(
        Response(bomb, headers={"Content-Encoding": "gzip, gzip"}, content_type="application/json")
    )
    folder = write_job(tmp_path, thehive5_case("Spam", ()), job_config(**api))
    result = finish_job(start_job(folder, stack, measured=True), folder)

    assert len(bomb) < 16 << 10
    assert not result.success
    assert (
        f"TheHive at {api['thehive_url']} answered HTTP 200, then the answer was cut short (its body was compressed"
        " more than once)" in result.error
    )
    assert peak_rss_kib(result) < 100 << 10


def test_an_https_proxy_whose_certificate_names_another_host_is_sent_neither_a_connect_nor_its_login(
    stack, tmp_path, job_config, smtp, thehive_tls, certificates
):
    """What answers at Cortex's https:// proxy holds a certificate a trusted CA issued for another name (any public CA
    issues one to whoever holds a name). urllib3 1.x matches no proxy's name in a context it is handed: the CONNECT
    went there, the proxy's login in it, and its refusal then named TheHive's certificate; urllib3 2 refused, in words
    that blamed a proxy that dropped the connection."""
    impostor = ConnectProxy(certificates.server_context(certificates.ca.issue_cert("proxy.example.net")))
    url = thehive_tls.url_for("/").rstrip("/")
    proxy = impostor.url.replace("://", "://proxyuser:Pr0xy-Pass@")
    config = job_config(thehive_url=url, thehive_apikey="hive-key", proxy_https=proxy)
    try:
        result = run_job(tmp_path, thehive5_case("Spam", ()), config, python_dir=stack)
    finally:
        impostor.close()

    assert impostor.tunnels == [] and thehive_tls.log == []
    assert not result.success
    assert f"The certificate of the proxy on the way to TheHive at {url} could not be verified" in result.error


def test_a_host_with_a_cryptography_before_42_sends_with_a_certificate_pasted_after_its_issuers(
    debian12_python, tmp_path, job_config, graph, graph_items, entra
):
    """A cryptography before 39 reads one certificate a call, and one before 42 gives a certificate's end without its
    zone: a certificate credential ended every job there as a bug."""
    issuer = keys.certificate_pem(keys.certificate(keys.rsa_key(3072), name="Issuing CA"))
    items = {**graph_items, "oauth_client_secret": None, "oauth_client_certificate": issuer + certificate_item()}
    case = thehive4_case("Spam", ["alice@example.org"])
    result = run_job(tmp_path, case, job_config(**items), python_dir=debian12_python)

    assert result.success, result.error
    graph.assert_each_got_exactly_one(["alice@example.org"])
    assert [claims["iss"] for _, claims in entra.app.assertions] == [CLIENT_ID]
    assert package_version("cryptography", debian12_python) == (38, 0, 4)
