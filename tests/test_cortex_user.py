"""The job as Cortex's process runner starts it on a host: as Cortex's own user, not root, from the responders folder
root installed and that user may only read, with the host's Python, in a job folder of its own in a job directory
that every user writes in (/tmp, Cortex's default). Each on a host whose root installs under the usual umask, and on
a hardened one (027), which README's last installation step makes readable."""

from __future__ import annotations

from testkit.cases import thehive4_case
from testkit.records import notified

ALICE = "alice@example.org"


def test_a_job_run_as_cortexs_own_user_sends_and_records_through_each_way_out(cortex_host, job_config, way_out):
    """Graph and Gmail load requests, and Gmail signs with cryptography's compiled code, from root's environment."""
    result = cortex_host.run(thehive4_case("Spam", [ALICE]), job_config(**way_out.items))

    assert result.success, result.everything_printed()
    assert [message["To"] for message in way_out.accepted()] == [ALICE] and notified(result) == [ALICE]


def test_a_job_run_as_cortexs_own_user_leaves_the_responder_as_root_installed_it(cortex_host, job_config, smtp):
    installed = cortex_host.files()
    result = cortex_host.run(thehive4_case("Spam", [ALICE]), job_config())

    assert result.success, result.everything_printed()
    assert cortex_host.files() == installed


def test_a_second_click_as_cortexs_own_user_before_thehive_adds_the_tags_mails_nobody_again(
    cortex_host, job_config, smtp
):
    case = thehive4_case("Spam", [ALICE])
    assert cortex_host.run(case, job_config()).success

    again = cortex_host.run(case, job_config())

    assert again.success, again.everything_printed()
    assert smtp.recipients() == [ALICE]
    assert (
        again.output["full"]["message"]
        == "All 1 reporter(s) of this case were already notified; nothing was sent. See the 1 warning(s)."
    )
