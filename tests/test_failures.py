"""Every failure reaches the analyst as a Cortex error that says what to fix, with no tag and no secret."""

from __future__ import annotations

import re

import pytest

from feedback.shown_text import BIDI_CONTROLS
from testkit.cases import thehive4_case, thehive5_case
from testkit.cortex import run_job
from testkit.ports import free_port
from testkit.raw_tcp import RawTcpServer
from testkit.smtp_faults import PASSWORD, USER
from testkit.smtp_server import LoopbackSmtp


def assert_cortex_error(result, *phrases: str) -> None:
    assert result.output is not None, result.everything_printed()
    assert result.output["success"] is False
    assert "operations" not in result.output
    for phrase in phrases:
        assert phrase in result.error, result.error
    assert "Traceback" not in result.everything_printed()
    assert PASSWORD not in result.everything_printed()


def test_case_that_is_not_a_phishing_report_is_refused(cortex, smtp):
    result = cortex(thehive4_case(title="Ransomware on FS01"))

    assert_cortex_error(result, "title must start with 'Phishing report'", "Ransomware on FS01")
    assert smtp.delivered == []


def test_title_prefix_ignores_case_and_leading_space(cortex, smtp):
    assert cortex(thehive4_case(title="  PHISHING REPORT - urgent")).success


@pytest.mark.parametrize("value", [None, "", "   "])
def test_unset_verdict_names_the_field_and_the_values(cortex, smtp, value):
    result = cortex(thehive4_case(value))

    assert_cortex_error(result, "custom field 'phishFeedback'", "'Phishing', 'Spam', 'Legit email'")
    assert smtp.delivered == []


def test_custom_field_naming_no_field_of_the_case_lists_the_fields_it_has(cortex, smtp):
    result = cortex(thehive4_case("Phishing"), custom_field="verdict")

    assert_cortex_error(
        result, "has no custom field 'verdict' (its custom fields are 'phishFeedback', 'escalated')", "custom_field"
    )
    assert smtp.delivered == []


def test_a_case_without_custom_fields_says_so_rather_than_asking_for_a_verdict(cortex, smtp):
    case = thehive4_case("Phishing")
    case["customFields"] = {}

    assert_cortex_error(cortex(case), "has no custom field 'phishFeedback' (it has no custom fields at all)")


def test_the_fields_listed_are_bounded_however_many_the_case_has(cortex, smtp):
    case = thehive5_case("Spam")
    case["customFieldValues"] = {f"field{n}_" + "x" * 200: "Spam" for n in range(50)}

    result = cortex(case)

    assert_cortex_error(result, "and 40 more")
    assert len(result.error) < 1200


@pytest.mark.parametrize("case_name", ["phishfeedback", "phish_feedback", "Phish-Feedback"])
def test_verdict_under_a_name_differing_in_case_or_punctuation_names_both(cortex, smtp, case_name):
    case = thehive5_case("Spam")
    case["customFieldValues"] = {case_name: "Spam"}

    result = cortex(case)

    assert_cortex_error(result, f"the custom field '{case_name}'; custom_field is 'phishFeedback'")
    assert smtp.delivered == []


def test_unknown_verdict_is_refused(cortex, smtp):
    assert_cortex_error(cortex(thehive4_case("Maybe")), "holds 'Maybe'", "'Legit email'")


def test_an_error_on_a_case_of_megabytes_echoes_only_what_names_the_case(cortex, smtp):
    junk = [f"user_email:{'x' * 1_000}-{n}" for n in range(1_000)]
    result = cortex(thehive4_case(None, reporters=(), tags=junk))

    assert "custom field" in result.error
    echoed = result.output["input"]["data"]
    assert echoed["title"] == "Phishing report: Invoice overdue" and echoed["caseId"] == 42
    assert "past the 65,536 an error report echoes" in echoed["not_echoed"]
    assert len(result.raw_output) < 10_000


def test_an_error_on_a_hand_made_case_of_megabytes_in_its_ids_and_title_echoes_them_cut(cortex, smtp):
    case = {**thehive4_case(None), "_id": "~" + "1" * 100_000, "title": "Phishing report: " + "x" * 100_000}
    result = cortex(case)

    assert "custom field" in result.error
    echoed = result.output["input"]["data"]
    assert echoed["_id"].endswith("…") and echoed["title"].endswith("…")
    assert len(result.raw_output) < 10_000


def test_an_error_on_a_case_of_ordinary_size_echoes_it_whole(cortex, smtp):
    case = thehive4_case(None)
    result = cortex(case)

    assert "custom field" in result.error
    assert result.output["input"]["data"]["tags"] == case["tags"]


def test_case_without_reporter_tag_says_which_tag_is_expected(cortex, smtp):
    assert_cortex_error(cortex(thehive4_case(reporters=())), "user_email:<address>")


def test_reporter_tag_that_is_not_an_address_is_refused(cortex, smtp):
    result = cortex(thehive4_case(reporters=["not an address"]))

    assert_cortex_error(result, "'not an address'", "it has no '@'")
    assert smtp.delivered == []


def test_missing_sender_names_the_setting(cortex, smtp):
    assert_cortex_error(cortex(thehive4_case(), **{"from": None}), "from is required", "Organisation → Responders")


@pytest.mark.parametrize(
    ("sender", "reason"),
    [
        ("soc@", "it has nothing after the '@'"),
        ("SOC <@example.org>", "it has nothing before the '@'"),
        ("soc", "it has no '@'"),
        ("SOC soc@example.org", "not one plain e-mail address"),
        ("soc@example.org, cert@example.org", "holds 2 addresses"),
        ("SOC <soc@example.org>;", "holds a ',' or ';' beside its address"),
        ("SOC <soc@example.org> desk", "holds 2 addresses"),
    ],
)
def test_unusable_sender_is_quoted_with_what_is_wrong(cortex, smtp, sender, reason):
    result = cortex(thehive4_case(), **{"from": sender})

    assert_cortex_error(result, f"'from' is '{sender}'", reason, "Organisation → Responders")
    assert smtp.delivered == []


def test_the_login_methods_a_server_offers_reach_the_analyst_printable_and_cut(cortex, smtp):
    escapes = "CRAM-MD5 \x1b[2J\x1b[31mCALL-THE-HELPDESK\x07\x9b6n"
    smtp.faults.ehlo = lambda lines, tls: [
        *(line for line in lines[:-1] if not line.startswith("250-AUTH")),
        f"250-AUTH {escapes}",
        *(f"250-AUTH X-MECH-{n} {'x' * 7000}" for n in range(5)),
        lines[-1],
    ]
    result = cortex(thehive4_case())

    assert_cortex_error(result, "offers no password login the responder uses (CRAM-MD5")
    assert result.error.isprintable() and len(result.error) < 1000, result.error


def test_port_of_the_wrong_type_names_the_setting(cortex, smtp):
    assert_cortex_error(cortex(thehive4_case(), smtp_port="twenty-five"), "smtp_port must be a whole number")


def test_untrusted_certificate_stops_before_sending(cortex, smtp):
    result = cortex(thehive4_case(), cacerts=None)

    assert_cortex_error(result, "could not be verified", "cacerts")
    assert smtp.delivered == [] and smtp.logins == []


def test_certificate_for_another_host_name_is_refused(cortex, smtp, certificates):
    other = certificates.ca.issue_cert("mail.example.org")
    with LoopbackSmtp(certificates) as server:
        server.controller.SMTP_kwargs["tls_context"] = certificates.server_context(other)
        result = cortex(thehive4_case(), smtp_port=server.port)

    assert_cortex_error(result, "could not be verified")
    assert server.delivered == []


def test_server_without_starttls_is_never_used_in_clear_text(cortex, certificates):
    with LoopbackSmtp(certificates, tls="none", auth=False) as plain:
        result = cortex(thehive4_case(), smtp_port=plain.port)

    assert_cortex_error(result, "does not offer STARTTLS")
    assert plain.delivered == []


def test_login_without_tls_is_refused_by_configuration(cortex, smtp):
    assert_cortex_error(cortex(thehive4_case(), smtp_security="none"), "clear text")
    assert smtp.delivered == []


def test_wrong_password_is_an_error_that_never_shows_the_password(cortex, smtp):
    result = cortex(thehive4_case(), smtp_password="Wr0ng-" + PASSWORD[::-1])

    assert_cortex_error(result, "refused the login", "smtp_password")
    assert PASSWORD[::-1] not in result.everything_printed()
    assert result.output["input"]["config"]["smtp_password"] == "REMOVED"
    assert smtp.delivered == []


@pytest.mark.parametrize(
    "reply, advice",
    [
        pytest.param(
            "535 5.7.139 Authentication unsuccessful, basic authentication is disabled. [BN9PR03CA0123.outlook.com]",
            "set smtp_auth to 'oauth2'",
            id="basic-authentication-off",
        ),
        pytest.param(
            "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox.",
            "SmtpClientAuthenticationDisabled $false",
            id="smtp-auth-off-for-the-mailbox",
        ),
    ],
)
def test_microsoft_365_turning_password_logins_off_is_not_called_a_wrong_password(cortex, smtp, reply, advice):
    smtp.faults.auth_reply = reply
    result = cortex(thehive4_case())

    assert_cortex_error(result, f"refused the login of '{USER}': {reply.split(' [')[0]}", advice)
    assert "Check smtp_user and smtp_password" not in result.error
    assert smtp.delivered == []


def test_no_server_listening(cortex, smtp):
    result = cortex(thehive4_case(), smtp_port=free_port(), smtp_retries=0)

    assert_cortex_error(result, "refused the connection", "smtp_port")
    assert "reporters' addresses" not in result.error  # nothing was said of them


def test_localhost_refusing_a_job_in_a_kubernetes_pod_says_localhost_is_the_container_itself(cortex):
    """The manifest's default smtp_host, kept where the job runs in a container: the mail server is elsewhere."""
    pod = {"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    result = cortex(thehive4_case(), smtp_host="localhost", smtp_port=free_port(), smtp_retries=0, environment=pod)

    assert_cortex_error(result, "refused the connection", "Check smtp_host and smtp_port")
    assert (
        "The job runs in a container (Cortex's docker or Kubernetes runner, or a Cortex that runs in one), where"
        " localhost is the container itself: set smtp_host to the mail server's name or address as seen from the"
        " container."
    ) in result.error


def test_a_campaign_no_server_answers_says_why_once_for_all_its_reporters(cortex, smtp):
    reporters = ["alice@example.org", "bob@example.org", "carol@example.org"]
    result = cortex(thehive4_case("Spam", reporters), smtp_port=free_port(), smtp_retries=0)

    assert_cortex_error(result, "refused the connection", "smtp_port")
    assert result.error.count("refused the connection") == 1


def test_reporters_the_server_refuses_every_one_point_at_their_addresses_not_at_the_server(cortex, smtp):
    """The server answered: its host, its port and a container's localhost are not in question."""
    smtp.faults.refuse = {"alice@example.org": "550 5.1.1 No such user"}

    result = cortex(thehive4_case(), smtp_retries=0)

    assert_cortex_error(
        result,
        "550 5.1.1 No such user. Check the addresses the mail service refused (a typo in a tag, a mailbox that is"
        " gone), then run the responder again.",
    )
    assert "smtp_host" not in result.error and "localhost" not in result.error


def test_a_reporter_put_off_beside_one_refused_still_points_at_the_server_and_the_addresses(cortex, smtp):
    smtp.faults.refuse = {"alice@example.org": "550 5.1.1 No such user"}
    smtp.faults.defer_rcpt["bob@example.org"] = 5

    result = cortex(thehive4_case("Spam", ["alice@example.org", "bob@example.org"]), smtp_retries=0)

    assert_cortex_error(result, "550 5.1.1 No such user", "accepts the reporters' addresses")


def test_a_refusal_reaches_the_analyst_without_the_controls_that_would_reorder_its_words(cortex, smtp):
    smtp.faults.refuse = {"alice@example.org": "550 5.1.1 User \u202enwonknu\u202c here".encode()}

    result = cortex(thehive4_case(), smtp_retries=0)

    assert_cortex_error(result, "550 5.1.1 User nwonknu here")
    assert not re.search(BIDI_CONTROLS, result.error)


def test_a_refusal_of_many_lines_is_cut_to_what_an_analyst_reads(cortex, smtp):
    lines = [f"550-5.1.1 Line {n:02} of the reasons this server gives at length" for n in range(1, 40)]
    smtp.faults.refuse = {"alice@example.org": "\r\n".join([*lines, "550 5.1.1 The last line"])}

    result = cortex(thehive4_case(), smtp_retries=0)

    assert_cortex_error(result, "550 5.1.1 Line 01 of the reasons", "…")
    assert "The last line" not in result.error
    assert len(result.error) < 1000


def test_an_ipv6_server_is_named_with_its_address_in_brackets(cortex, smtp):
    result = cortex(thehive4_case(), smtp_host="::1", smtp_port=smtp.port, smtp_retries=0)

    assert_cortex_error(result, f"the SMTP server [::1]:{smtp.port} refused the connection")


def test_a_server_that_never_greets_is_not_asked_again_and_the_tls_setting_is_named(cortex):
    with RawTcpServer("silent") as silent:
        result = cortex(thehive4_case(), smtp_port=silent.port, smtp_timeout=1, smtp_retries=2)

    assert_cortex_error(result, "sent no greeting within 1 s", "smtp_security 'tls'", "port 465")
    assert silent.connections == 1


def test_starttls_against_an_implicit_tls_port_names_smtp_security_tls(cortex, certificates):
    with LoopbackSmtp(certificates, tls="implicit") as implicit:
        result = cortex(thehive4_case(), smtp_port=implicit.port, smtp_security="starttls", smtp_timeout=1)

    assert_cortex_error(result, f"The SMTP server 127.0.0.1:{implicit.port} took the connection but sent no greeting")
    assert "smtp_security 'tls'" in result.error
    assert implicit.delivered == []


@pytest.mark.parametrize("level", ["TLP", "PAP"])
def test_a_case_above_max_tlp_or_pap_is_refused_with_both_values_and_where_to_change_them(cortex, smtp, level):
    """cortexutils refuses it in words that name neither value nor setting ('TLP is higher than allowed.')."""
    result = cortex(thehive4_case(), **{level.lower(): 3})

    assert_cortex_error(
        result,
        f"The case's {level} (3) is above this responder's Max {level} (2), so nothing was sent. Lower the case's"
        f" {level} if its reporters may be told of it, or have a Cortex admin raise Max {level} for Phish_Feedback"
        " (Organisation, Responders).",
    )
    assert smtp.delivered == []


def test_job_on_something_else_than_a_case(cortex, smtp):
    assert_cortex_error(cortex({"data": "evil.example"}, data_type="domain"), "thehive:case")


def test_ca_in_the_system_store_is_trusted_without_cacerts(cortex, smtp, certificates, tmp_path):
    system_store = tmp_path / "system-ca.pem"
    system_store.write_text(certificates.ca_pem)

    assert cortex(thehive4_case(), cacerts=None, environment={"SSL_CERT_FILE": str(system_store)}).success
    assert smtp.recipients() == ["alice@example.org"]


def test_cacerts_that_is_not_a_certificate_names_the_setting(cortex, smtp):
    assert_cortex_error(cortex(thehive4_case(), cacerts="-----BEGIN CERTIFICATE-----\nnot base64\n"), "cacerts")
    assert smtp.delivered == []


def test_python_without_cortexutils_is_told_what_to_install(job_config, tmp_path, bare_python):
    result = run_job(tmp_path, thehive4_case(), job_config(), python_dir=bare_python)

    assert_cortex_error(result, "cortexutils is not installed", "pip install -r PhishFeedback/requirements.txt")


def test_sender_refused_by_the_server_names_the_setting(cortex, smtp):
    smtp.faults.refuse_sender = "553 5.7.1 Sender address rejected: not owned by user"
    result = cortex(thehive4_case("Spam", ["alice@example.org", "bob@example.org"]))

    assert_cortex_error(result, "refused the sender soc@example.org: 553 5.7.1 Sender address rejected", "'from'")
    assert smtp.delivered == []


@pytest.mark.parametrize(
    "reply, setting",
    [
        ("530 5.7.0 Must issue a STARTTLS command first", "set smtp_security to starttls"),
        ("530 5.7.0 Authentication required", "set smtp_auth to password"),
    ],
)
def test_a_sender_refused_for_what_the_server_wants_first_names_that_setting(cortex, smtp, reply, setting):
    smtp.faults.refuse_sender = reply
    result = cortex(thehive4_case())

    assert_cortex_error(result, f"refused the sender soc@example.org: {reply}", setting)
    assert "'from'" not in result.error


def test_exchange_refusing_to_send_as_the_sender_says_which_right_is_missing(cortex, smtp):
    smtp.faults.refuse_sender = "550 5.7.60 SMTP; Client does not have permissions to send as this sender"
    result = cortex(thehive4_case())

    assert_cortex_error(result, "refused the sender soc@example.org: 550 5.7.60", "Send As right", "smtp_user")
    assert smtp.delivered == []


def test_exchange_refusing_the_from_address_after_the_message_stops_at_the_first_and_says_which_right(cortex, smtp):
    smtp.faults.limit_after, smtp.faults.limit_reply = (
        0,
        (
            "554 5.2.0 STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied;"
            " Failed to process message due to a permanent exception with message Cannot submit message."
        ),
    )
    result = cortex(thehive4_case("Spam", ["alice@example.org", "bob@example.org", "carol@example.org"]))

    assert_cortex_error(result, "refused the sender soc@example.org: 554 5.2.0", "Send As right", "smtp_user")
    assert smtp.refused == ["alice@example.org"], "every reporter was tried for a refusal that concerns them all"
    assert smtp.delivered == []


def test_microsoft_365_blocking_the_mailbox_stops_at_the_first_reporter_and_says_where_to_release_it(cortex, smtp):
    smtp.faults.refuse = {"alice@example.org": "550 5.1.8 Access denied, bad outbound sender. AS(42004)"}
    result = cortex(thehive4_case("Spam", ["alice@example.org", "bob@example.org"]))

    assert_cortex_error(result, "550 5.1.8 Access denied, bad outbound sender", "Restricted entities")
    assert smtp.delivered == []


def test_postfix_refusing_a_sender_the_login_does_not_own_stops_at_the_first_reporter_and_names_from(cortex, smtp):
    smtp.faults.refuse_rcpt = "553 5.7.1 <{sender}>: Sender address rejected: not owned by user " + USER
    result = cortex(thehive4_case("Spam", ["alice@example.org", "bob@example.org", "carol@example.org"]))

    assert_cortex_error(result, "refused the sender soc@example.org: 553 5.7.1", "'from'", "smtp_user")
    assert "reject_sender_login_mismatch" in result.error
    assert smtp.refused == ["alice@example.org"], "every reporter was tried for a refusal that concerns them all"
    assert smtp.delivered == []


REPORTERS = ["alice@example.org", "bob@example.org", "carol@example.org", "dave@example.org"]


@pytest.mark.parametrize(
    ("reply", "says"),
    [
        ("554 5.7.1 <cortex.example.net>: Helo command rejected: HELO name not allowed", "Set smtp_ehlo_name"),
        ("554 5.7.1 <unknown[192.0.2.7]>: Client host rejected: Access denied", "smtpd_client_restrictions"),
    ],
    ids=["helo-name", "client-host"],
)
def test_postfix_refusing_this_client_at_the_first_recipient_stops_at_once_and_says_what_to_change(
    cortex, smtp, reply, says
):
    """Postfix applies its HELO and client checks when the first recipient comes (smtpd_delay_reject): the refusal
    concerns every reporter alike, and trying each one would reach its 'too many errors'."""
    smtp.faults.refuse.update(dict.fromkeys(REPORTERS, reply))
    result = cortex(thehive4_case("Spam", REPORTERS))

    assert_cortex_error(result, "refused this client, whatever the reporter (554 5.7.1", says)
    asked = [line for line in smtp.said if line.startswith("RCPT")]
    assert asked == ["RCPT alice@example.org"], "every reporter was tried for a refusal that concerns them all"


def test_a_content_check_refusing_two_messages_alike_stops_the_job_and_points_at_the_content(cortex, smtp):
    """Postfix's header_checks and body_checks (or a content filter) refuse what every message of a job says: each
    further message would go whole, to be refused alike."""
    smtp.faults.limit_after, smtp.faults.limit_reply = 0, "550 5.7.1 message content rejected"
    result = cortex(thehive4_case("Spam", REPORTERS))

    assert_cortex_error(result, "refused the message of two reporters alike (550 5.7.1 message content rejected)")
    assert "header_checks, body_checks" in result.error and "the template and guidance_url" in result.error
    assert smtp.said.count("DATA") == 2


# What a server says at its greeting about this client, not any reporter: Postfix's connection rate (each retry
# would keep Cortex blocked longer), and postscreen's, a DNS blocklist's or an access list's refusal (nothing in the
# responder's items mends it). Each names what to change on the server.
REFUSED_AT_THE_GREETING = [
    (
        "421 4.7.0 mx.example.org Error: too many connections from 127.0.0.1",
        "limits what this client sends in a time ({greeting})",
        "smtpd_client_connection_rate_limit",
    ),
    (
        "554 5.7.1 Service unavailable; Client host [127.0.0.1] blocked using zen.spamhaus.org",
        "refused this client at its greeting ({greeting})",
        "Have the server take mail from Cortex's host (Postfix: smtpd_client_restrictions",
    ),
]


@pytest.mark.parametrize(("greeting", "said", "advice"), REFUSED_AT_THE_GREETING, ids=["connection-rate", "blocklist"])
def test_a_server_that_refuses_this_client_at_its_greeting_is_not_asked_again(cortex, greeting, said, advice):
    with RawTcpServer(greeting) as server:
        result = cortex(thehive4_case("Spam", REPORTERS), smtp_port=server.port, smtp_retries=3)

    assert_cortex_error(result, said.format(greeting=greeting), advice)
    assert server.connections == 1


@pytest.mark.parametrize(
    ("fault", "says"),
    [
        (
            {
                "refuse": {
                    "alice@example.org": "453 4.7.1 <soc@example.org>: Sender address rejected: not owned by user"
                }
            },
            "(if it lasts: the login in smtp_user may not send as 'from'",
        ),
        (
            {"limit_after": 0, "limit_reply": "452 4.3.4 Message size exceeds fixed limit"},
            "(if it lasts: raise the server's size limit, Postfix's message_size_limit, or shorten the template)",
        ),
    ],
    ids=["sender", "size"],
)
def test_a_refusal_for_good_a_relay_makes_temporary_still_says_what_to_change(cortex, smtp, fault, says):
    """Postfix's soft_bounce, on while a relay is set up, turns its 5xx into 4xx: tried again as any 4xx, and when
    the tries run out the analyst still learns what the 5xx would have said."""
    for name, value in fault.items():
        setattr(smtp.faults, name, value)
    result = cortex(thehive4_case("Spam", ["alice@example.org"]), smtp_retries=1)

    assert_cortex_error(result, says)


def test_a_message_over_the_servers_size_limit_stops_the_job_and_says_what_to_raise(cortex, smtp):
    smtp.controller.SMTP_kwargs["data_size_limit"] = 2000
    result = cortex(thehive4_case("Spam", ["alice@example.org", "bob@example.org"]))

    assert_cortex_error(result, "refused the message as too large (552", "message_size_limit", "template")
    assert "'from'" not in result.error
    assert smtp.delivered == []


def test_missing_login_for_a_server_that_requires_one_asks_for_smtp_user_and_smtp_password(cortex, smtp):
    result = cortex(thehive4_case(), smtp_user=None, smtp_password=None)

    assert_cortex_error(result, "refused the sender soc@example.org: 530", "set smtp_user and smtp_password")
    assert "set smtp_auth to password" not in result.error and smtp.delivered == []


def test_input_cortex_would_never_send_still_gets_a_cortex_error(cortex, smtp, tmp_path):
    result = run_job(tmp_path, thehive4_case(), "not an object")

    assert_cortex_error(result, "cannot be read as the JSON object Cortex writes", "Nothing was sent or tagged")
    assert smtp.delivered == []


@pytest.mark.parametrize("link", ["www.example.org/phishing", "javascript:alert(1)", "not a url"])
def test_a_guidance_url_that_is_no_web_address_is_refused_before_any_message(cortex, smtp, link):
    result = cortex(thehive4_case("Spam"), guidance_url=link)

    assert not result.success
    assert "guidance_url must be a web address" in result.error
    assert smtp.delivered == []


def test_reporter_tag_emptied_is_the_default_as_for_every_optional_item(cortex, smtp):
    result = cortex(thehive4_case("Spam"), reporter_tag="")

    assert result.success, result.error
    assert smtp.recipients() == ["alice@example.org"]


def test_title_prefix_emptied_is_the_default_and_answers_no_other_case(cortex, smtp):
    result = cortex(thehive4_case(title="Suspicious invoice"), title_prefix="")

    assert not result.success
    assert "must start with 'Phishing report'" in result.error
    assert smtp.delivered == []


def test_title_prefix_of_a_single_space_answers_any_case(cortex, smtp):
    assert cortex(thehive4_case(title="Suspicious invoice"), title_prefix=" ").success
    assert smtp.recipients() == ["alice@example.org"]


def test_an_smtp_host_that_does_not_resolve_is_named_at_once_and_not_retried(deliver_within, monkeypatch):
    import socket

    from feedback.unreached import DeliveryError

    resolve, asked = socket.getaddrinfo, []

    def getaddrinfo(host, *rest, **named):
        if host == "smtp.example.invalid":
            asked.append(host)
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return resolve(host, *rest, **named)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    with pytest.raises(DeliveryError) as failed:
        deliver_within(thehive4_case(), 30, smtp_host="smtp.example.invalid", smtp_retries=2)

    assert str(failed.value) == (
        "No feedback was sent. The SMTP server name 'smtp.example.invalid' cannot be resolved. Check smtp_host."
    )
    assert len(asked) == 1, "a name that does not resolve is not asked again"
