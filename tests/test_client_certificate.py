"""Entra ID's certificate credential: the token request carries a JWT signed by the key of the app's certificate.

The loopback Entra ID (testkit/token_endpoint.py) takes an assertion as Entra does: its PS256
signature verified with the public key of a certificate uploaded to the app, found by its
`x5t#S256` thumbprint; for this endpoint, from this app, valid now for 10 minutes at most, its
`jti` never seen before. The jobs run as Cortex runs them, over SMTP's XOAUTH2 and through Graph.
"""

from __future__ import annotations

import subprocess

import pytest
from cryptography import x509

from feedback.items import ConfigError
from feedback.settings import read_settings
from testkit import keys
from testkit.cases import another_case, thehive4_case
from testkit.cortex import cortex_config, modules_loaded_by, write_job
from testkit.graph_api import error
from testkit.recipes import recipes
from testkit.secret_forms import leaked
from testkit.token_endpoint import (
    ASSERTION_TYPE,
    CLIENT_ID,
    CLIENT_SECRET,
    MAILBOX,
    TOKEN,
    TOKEN_PATH,
    app_certificate,
    certificate_item,
    entra_error,
    issue_short_lived_tokens,
)

APP_KEY = keys.pem(keys.rsa_key(2048))
CAMPAIGN = ["alice@example.org", "bob@example.org"]


def with_certificate(items: dict, pem: str | None = None) -> dict:
    """The items with the certificate as credential, the secret left empty as docs/graph.md says."""
    return {**items, "oauth_client_secret": None, "oauth_client_certificate": pem or certificate_item()}


def token_requests(entra) -> list[dict]:
    return [dict(request.form) for request, _ in entra.log]


def assert_nothing_secret_printed(result, entra) -> None:
    printed = result.everything_printed()
    for secret in [TOKEN, APP_KEY, *(form["client_assertion"] for form in token_requests(entra))]:
        assert leaked(printed, secret, MAILBOX) == []
    assert all(line not in printed for line in APP_KEY.splitlines()[1:-1])


def settings_error(**items) -> str:
    """The error of reading a configuration with these items, as a job's start reads it."""
    config = cortex_config({"from": "SOC <soc@example.org>", **items})
    with pytest.raises(ConfigError) as refused:
        read_settings(config, {})
    return str(refused.value)


def test_an_smtp_job_with_a_certificate_logs_in_with_a_token_its_signed_assertion_got(cortex, smtp, entra, oauth):
    result = cortex(thehive4_case("Spam", CAMPAIGN), **with_certificate(oauth))

    assert result.success, result.error
    assert smtp.xoauth2_logins == [(MAILBOX, True)] and sorted(smtp.recipients()) == CAMPAIGN
    [form] = token_requests(entra)
    assert "client_secret" not in form
    assert form["client_assertion_type"] == ASSERTION_TYPE and form["client_id"] == CLIENT_ID
    [(header, claims)] = entra.app.assertions  # its signature verified with the certificate's public key
    assert header == {"alg": "PS256", "typ": "JWT", "x5t#S256": keys.thumbprint(app_certificate())}
    assert claims["aud"] == oauth["oauth_token_url"]
    assert claims["iss"] == claims["sub"] == CLIENT_ID
    assert claims["nbf"] == claims["iat"] and 0 < claims["exp"] - claims["nbf"] <= 600
    assert_nothing_secret_printed(result, entra)


def test_a_graph_job_with_a_certificate_sends_with_a_token_its_signed_assertion_got(cortex, graph, entra, graph_items):
    result = cortex(thehive4_case("Spam", CAMPAIGN), **with_certificate(graph_items))

    assert result.success, result.error
    graph.assert_each_got_exactly_one(CAMPAIGN)
    [form] = token_requests(entra)
    assert "client_secret" not in form and form["scope"] == f"{graph.url}/.default"
    [(_, claims)] = entra.app.assertions
    assert claims["aud"] == graph_items["oauth_token_url"]
    assert_nothing_secret_printed(result, entra)


def test_the_certificate_docs_graph_md_makes_is_one_a_job_gets_its_token_with(cortex, smtp, entra, oauth, tmp_path):
    folder = tmp_path / "openssl"
    folder.mkdir()
    made = subprocess.run(
        ["bash", "-c", recipes()["entra-certificate"]], cwd=folder, capture_output=True, text=True, timeout=120
    )
    assert made.returncode == 0, made.stderr
    entra.app.certificates = [x509.load_pem_x509_certificate((folder / "phishfeedback.cer").read_bytes())]
    result = cortex(thehive4_case(), **with_certificate(oauth, made.stdout))

    assert result.success, result.error
    assert len(entra.app.assertions) == 1 and smtp.xoauth2_logins == [(MAILBOX, True)]


def test_a_line_of_the_key_graph_echoes_in_a_refusal_is_blotted_out(cortex, graph, entra, graph_items):
    line = APP_KEY.splitlines()[5]
    graph.script = [error((400, "BadRequest", f"Unexpected content near '{line}'"))]
    result = cortex(thehive4_case("Spam", CAMPAIGN), **with_certificate(graph_items))

    assert result.success, result.error
    assert line not in result.everything_printed()
    assert "Unexpected content near '********'" in result.everything_printed()
    assert_nothing_secret_printed(result, entra)


def test_each_job_signs_an_assertion_of_its_own(cortex, smtp, entra, oauth):
    first = cortex(thehive4_case("Spam"), **with_certificate(oauth))
    second = cortex(another_case(thehive4_case("Spam")), **with_certificate(oauth))

    assert first.success and second.success, (first.error, second.error)
    jtis = [claims["jti"] for _, claims in entra.app.assertions]
    assert len(jtis) == 2 and jtis[0] != jtis[1]  # the endpoint refuses a jti it has seen
    forms = token_requests(entra)
    assert forms[0]["client_assertion"] != forms[1]["client_assertion"]


@pytest.mark.slow
def test_a_job_that_outlives_its_token_asks_for_the_next_with_an_assertion_of_its_own(cortex, smtp, entra, oauth):
    issued = issue_short_lived_tokens(entra, smtp.xoauth2, lifetime=2.5)
    smtp.faults.per_session = 3
    reporters = [f"reporter{i}@example.org" for i in range(5)]
    result = cortex(thehive4_case("Spam", reporters), **with_certificate(oauth), smtp_max_per_minute=60)

    assert result.success, result.error
    assert len(issued) == 2 and sorted(smtp.recipients()) == reporters
    assert len({claims["jti"] for _, claims in entra.app.assertions}) == 2
    assert_nothing_secret_printed(result, entra)


def test_a_certificate_the_app_registration_does_not_hold_is_refused_naming_the_item(cortex, smtp, entra, oauth):
    entra.app.certificates = [keys.certificate(keys.rsa_key(2048), name="Another app")]
    result = cortex(thehive4_case(), **with_certificate(oauth))

    assert not result.success
    assert "refused the token request (HTTP 401, invalid_client: AADSTS700027" in result.error
    assert "Check oauth_client_certificate: its certificate must be the one uploaded" in result.error
    assert smtp.xoauth2_logins == [] and smtp.delivered == []


def test_a_refusal_of_the_app_that_entra_gives_no_known_code_for_names_the_certificate_not_the_secret(
    cortex, smtp, entra, oauth
):
    """The admin of a job that proves itself with a certificate is told to check it: that job has no secret."""
    entra.clear()
    entra.expect_request(TOKEN_PATH, method="POST").respond_with_response(
        entra_error(401, "invalid_client", 700021, "Client assertion application identifier doesn't match 'client_id'.")
    )
    result = cortex(thehive4_case(), **with_certificate(oauth))

    assert not result.success
    assert "(HTTP 401, invalid_client: AADSTS700021" in result.error
    assert "Check oauth_client_id and oauth_client_certificate." in result.error
    assert smtp.xoauth2_logins == [] and smtp.delivered == []


def test_a_key_that_is_not_the_certificates_ends_the_job_before_any_request_and_shows_no_part_of_it(
    cortex, smtp, entra, oauth
):
    other = keys.pem(keys.rsa_key(3072))
    result = cortex(thehive4_case(), **with_certificate(oauth, keys.certificate_pem(app_certificate()) + other))

    assert not result.success
    assert "The private key in oauth_client_certificate does not belong to its certificate" in result.error
    assert entra.log == [] and smtp.delivered == []
    assert result.output["input"]["config"]["oauth_client_certificate"] == "REMOVED"
    assert all(line not in result.everything_printed() for line in other.splitlines()[1:-1])


CERTIFICATE = keys.certificate_pem(app_certificate())


@pytest.mark.parametrize(
    ("pem", "says"),
    [
        (lambda: CERTIFICATE, "oauth_client_certificate holds no private key in PEM"),
        (lambda: APP_KEY, "oauth_client_certificate holds no certificate in PEM beside the key"),
        (lambda: CERTIFICATE + keys.pem(keys.rsa_key(2048), b"passphrase"), "in oauth_client_certificate is encrypted"),
        (
            lambda: keys.certificate_pem(keys.certificate(key := keys.ec_key())) + keys.pem(key),
            "The private key in oauth_client_certificate is not an RSA key (an elliptic-curve key)",
        ),
        (
            lambda: keys.certificate_pem(keys.certificate(keys.rsa_key(1024))) + keys.pem(keys.rsa_key(1024)),
            "The RSA key in oauth_client_certificate has 1024 bits; the responder takes 2048 to 8192 bits",
        ),
        (
            lambda: CERTIFICATE + keys.sized_key(9216),
            "The RSA key in oauth_client_certificate has 9215 bits; the responder takes 2048 to 8192 bits",
        ),
        (lambda: CERTIFICATE + keys.sized_key(2050), "The RSA key in oauth_client_certificate is damaged"),
        (
            lambda: keys.certificate_pem(keys.certificate(keys.rsa_key(2048), days=-1)) + APP_KEY,
            "The certificate in oauth_client_certificate expired on",
        ),
        (
            lambda: keys.certificate_pem(keys.certificate(key := keys.rsa_key(2048), days=-1 / 24)) + keys.pem(key),
            "The certificate in oauth_client_certificate expired on",
        ),
    ],
    ids=[
        "no_key",
        "no_certificate",
        "encrypted",
        "elliptic_curve",
        "1024_bits",
        "9216_bits",
        "damaged",
        "expired",
        "expired_an_hour_ago",
    ],
)
def test_a_certificate_that_cannot_work_is_a_configuration_error_at_the_start_naming_the_item(oauth, pem, says):
    error = settings_error(**with_certificate(oauth, pem()))

    assert says in error
    assert "Certificates & secrets → Certificates" in error and "Fix it in Cortex" in error


def test_a_certificate_and_a_secret_both_set_is_a_configuration_error_naming_both(oauth):
    error = settings_error(**{**oauth, "oauth_client_certificate": certificate_item()})

    assert "oauth_client_certificate and oauth_client_secret are both set" in error
    assert CLIENT_SECRET not in error


@pytest.mark.parametrize(
    "pasted",
    [
        lambda pem: pem,
        # What `openssl pkcs12 -nodes` writes of a .pfx: attributes before each block.
        lambda pem: f"Bag Attributes\n    localKeyID: 01 00 00 00\n    friendlyName: phish-feedback\n{pem}",
    ],
    ids=["pem", "openssl-pkcs12-output"],
)
def test_a_certificate_and_key_pasted_into_oauth_client_secret_never_reach_the_token_endpoint(
    cortex, smtp, entra, oauth, pasted
):
    """The two items stand side by side: the key pasted in the wrong one would go out as the client secret."""
    result = cortex(thehive4_case(), **{**oauth, "oauth_client_secret": pasted(certificate_item())})

    assert not result.success
    assert "oauth_client_secret holds a PEM block: a certificate and its key go in oauth_client_certificate" in (
        result.error
    )
    assert entra.log == [] and smtp.delivered == []


def test_a_job_with_a_certificate_loads_cryptography_but_not_the_http_stack_it_does_not_use(
    smtp, entra, oauth, job_config, tmp_path
):
    job = write_job(tmp_path, thehive4_case("Spam"), job_config(**with_certificate(oauth)))

    loaded = modules_loaded_by(job, ("cryptography", "requests", "urllib3"))
    assert any(name.startswith("cryptography") for name in loaded)
    assert not any(name.split(".")[0] in ("requests", "urllib3") for name in loaded)
    assert smtp.recipients() == ["alice@example.org"]


@pytest.mark.parametrize("login", ["password", "oauth2 with a secret"])
def test_a_job_without_a_certificate_loads_no_cryptography(smtp, entra, oauth, job_config, tmp_path, login):
    items = oauth if login.startswith("oauth2") else {}
    job = write_job(tmp_path, thehive4_case("Spam"), job_config(**items))

    assert modules_loaded_by(job, ("cryptography",)) == []
    assert smtp.recipients() == ["alice@example.org"]
