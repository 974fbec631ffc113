"""Whom the job trusts: the system store, as a hashed directory or a bundle file, and any CA of a chain in cacerts.

Debian and python:3-slim keep `/etc/ssl/certs` as a directory of `<subject hash>.0` links, which
OpenSSL reads lazily; RHEL keeps a bundle file and no hashes. SSL_CERT_DIR and SSL_CERT_FILE stand
for the system's store here, as they do for OpenSSL. An internal CA is often an intermediate under
an offline root: the admin pastes the CA that issued the server's certificate, and that is enough.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
from pytest_httpserver import HTTPServer

from feedback.trust import trust_context
from testkit.cases import thehive4_case, thehive5_case
from testkit.certificates import IntermediateCertificates
from testkit.smtp_server import LoopbackSmtp
from testkit.thehive_api import API_KEY, v1_observable

pytestmark = pytest.mark.skipif(not shutil.which("openssl"), reason="needs the openssl command to hash a CA")


@pytest.fixture
def ca_file(certificates, tmp_path):
    path = tmp_path / "internal-ca.pem"
    path.write_text(certificates.ca_pem)
    return path


@pytest.fixture
def unhashed_dir(ca_file, tmp_path):
    """A directory that holds the CA but no hash links, like RHEL's /etc/pki/tls/certs: OpenSSL cannot look in it."""
    store = tmp_path / "unhashed"
    store.mkdir()
    shutil.copy(ca_file, store / "internal-ca.pem")
    return store


@pytest.fixture
def hashed_dir(unhashed_dir, ca_file):
    """The same directory laid out like Debian's /etc/ssl/certs: with the `<subject hash>.0` link."""
    subject_hash = subprocess.run(
        ["openssl", "x509", "-hash", "-noout", "-in", str(ca_file)], capture_output=True, text=True, check=True
    ).stdout.strip()
    (unhashed_dir / f"{subject_hash}.0").symlink_to("internal-ca.pem")
    return unhashed_dir


def test_ca_in_a_hashed_directory_only_is_trusted(cortex, smtp, hashed_dir, tmp_path):
    store = {"SSL_CERT_DIR": str(hashed_dir), "SSL_CERT_FILE": str(tmp_path / "no-bundle.pem")}

    result = cortex(thehive4_case(), cacerts=None, environment=store)

    assert result.success, result.error
    assert smtp.recipients() == ["alice@example.org"]


@pytest.mark.parametrize("where", ["beside", "inside"])
def test_ca_in_a_bundle_file_only_is_trusted(cortex, smtp, ca_file, unhashed_dir, where):
    """Inside: RHEL's ca-bundle.crt lies in /etc/pki/tls/certs, which has no hash links; only a hashed directory holds
    what its bundle holds."""
    bundle = ca_file if where == "beside" else unhashed_dir / "internal-ca.pem"
    store = {"SSL_CERT_DIR": str(unhashed_dir), "SSL_CERT_FILE": str(bundle)}

    result = cortex(thehive4_case(), cacerts=None, environment=store)

    assert result.success, result.error
    assert smtp.recipients() == ["alice@example.org"]


def test_ca_in_neither_a_hashed_directory_nor_a_bundle_is_refused(cortex, smtp, unhashed_dir, tmp_path):
    store = {"SSL_CERT_DIR": str(unhashed_dir), "SSL_CERT_FILE": str(tmp_path / "no-bundle.pem")}

    result = cortex(thehive4_case(), cacerts=None, environment=store)

    assert not result.success
    assert "The certificate of the SMTP server 127.0.0.1 could not be verified" in result.error
    assert smtp.delivered == []


def test_token_endpoint_is_trusted_from_the_same_hashed_directory(cortex, smtp, oauth, hashed_dir, tmp_path):
    store = {"SSL_CERT_DIR": str(hashed_dir), "SSL_CERT_FILE": str(tmp_path / "no-bundle.pem")}

    result = cortex(thehive4_case(), **oauth, cacerts=None, environment=store)

    assert result.success, result.error
    assert smtp.xoauth2_logins == [("soc@example.org", True)]


@pytest.mark.parametrize("cacerts", [False, True], ids=["without_cacerts", "with_cacerts"])
def test_ssl_cert_file_naming_an_empty_file_is_reported_as_that(
    cortex, smtp, certificates, unhashed_dir, tmp_path, cacerts
):
    empty = tmp_path / "empty.pem"
    empty.write_text("")
    store = {"SSL_CERT_DIR": str(unhashed_dir), "SSL_CERT_FILE": str(empty)}

    result = cortex(thehive4_case(), cacerts=certificates.ca_pem if cacerts else None, environment=store)

    assert not result.success
    assert f"SSL_CERT_FILE names the CA bundle {empty}, which cannot be used" in result.error
    assert "cacerts" not in result.error
    assert smtp.delivered == []


@pytest.fixture(scope="module")
def chain() -> IntermediateCertificates:
    return IntermediateCertificates()


@pytest.fixture
def chain_smtp(chain):
    """The STARTTLS server, its certificate issued by the intermediate."""
    with LoopbackSmtp(chain) as server:
        yield server


@pytest.mark.parametrize("anchor", ["intermediate", "root"])
def test_cacerts_with_any_ca_of_the_chain_alone_delivers_over_smtp(cortex, chain, chain_smtp, anchor):
    cacerts = chain.ca_pem if anchor == "intermediate" else chain.root_pem

    result = cortex(thehive4_case(), smtp_port=chain_smtp.port, cacerts=cacerts)

    assert result.success, result.error
    assert chain_smtp.recipients() == ["alice@example.org"]


def test_intermediate_in_cacerts_still_checks_the_host_name(cortex):
    elsewhere = IntermediateCertificates("mail.example.org")
    with LoopbackSmtp(elsewhere) as server:
        result = cortex(thehive4_case(), smtp_port=server.port, cacerts=elsewhere.ca_pem)

    assert not result.success
    assert "The certificate of the SMTP server 127.0.0.1 could not be verified" in result.error
    assert server.delivered == []


def test_intermediate_alone_in_cacerts_is_trusted_for_thehive_over_https(cortex, chain, chain_smtp):
    thehive = HTTPServer(host="127.0.0.1", ssl_context=chain.server_context())
    thehive.expect_request("/api/v1/query").respond_with_json([v1_observable("mail", "bob@example.org", ["reporter"])])
    thehive.start()
    try:
        url = thehive.url_for("/").rstrip("/")
        result = cortex(
            thehive5_case("Spam", ()),
            smtp_port=chain_smtp.port,
            thehive_url=url,
            thehive_apikey=API_KEY,
            cacerts=chain.ca_pem,
        )
    finally:
        thehive.stop()

    assert result.success, result.error
    assert url.startswith("https://")
    assert chain_smtp.recipients() == ["bob@example.org"]


def test_every_party_of_a_job_shares_one_context_per_cacerts(certificates):
    """Reading the system's store is most of a context's cost: a job that reads TheHive and sends mail pays it once."""
    assert trust_context(certificates.ca_pem) is trust_context(certificates.ca_pem)
    assert trust_context(certificates.ca_pem) is not trust_context(None)


def test_cacerts_exported_with_a_ca_name_outside_ascii_around_the_certificate_is_read(cortex, smtp, certificates):
    """`openssl pkcs12` writes the CA's name above its certificate, in the CA's own language."""
    exported = f"Bag Attributes\n    friendlyName: Soci\u00e9t\u00e9 G\u00e9n\u00e9rale Root CA\n{certificates.ca_pem}"
    result = cortex(thehive4_case(), cacerts=exported)

    assert result.success, result.error
    assert smtp.recipients() == ["alice@example.org"]


def test_cacerts_whose_certificate_holds_characters_outside_ascii_is_said_to_hold_none(cortex, smtp, certificates):
    broken = certificates.ca_pem.replace("\n", "\u00e9\n", 3)
    result = cortex(thehive4_case(), cacerts=broken)

    assert not result.success
    assert "The cacerts setting holds no valid PEM certificate" in result.error
    assert smtp.delivered == []


def test_cacerts_outside_ascii_with_a_block_cut_short_is_refused_as_it_would_be_in_ascii(cortex, smtp, certificates):
    exported = f"friendlyName: Soci\u00e9t\u00e9 CA\n{certificates.ca_pem}-----BEGIN CERTIFICATE-----\nMIIB\n"
    result = cortex(thehive4_case(), cacerts=exported)

    assert not result.success
    assert "The cacerts setting holds no valid PEM certificate" in result.error


def test_a_server_certificate_and_key_pasted_into_cacerts_are_refused_and_the_key_is_shown_nowhere(
    cortex, smtp, certificates
):
    """OpenSSL passes over a private key among the certificates, so the job would work with the key left where
    whoever reads Cortex's settings sees it, and every failing job's report would echo it."""
    key = certificates.server.private_key_pem.bytes().decode()
    combined = f"{certificates.server.cert_chain_pems[0].bytes().decode()}{key}{certificates.ca_pem}"
    result = cortex(thehive4_case(), cacerts=combined)

    assert not result.success and smtp.delivered == []
    assert result.error.startswith("The cacerts setting holds a private key: it takes the certificates of the CAs")
    printed = result.everything_printed()
    assert [line for line in key.split() if len(line) >= 16 and line in printed] == []
    assert certificates.ca_pem.split()[-2] in printed, "the CA's certificate is still echoed, for the admin to check"
