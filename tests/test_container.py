"""The responder's image, run the way Cortex's docker job runner runs it (docs/cortex-and-thehive.md §1b).

Rootful podman stands in for Docker. The base image is built once and kept in podman's storage; the
responder's image is built from the working tree for every session, offline. CI must run these tests
(CI=true): there, missing tools are a failure, elsewhere a skip that says what to install.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from feedback.tags import notified_tags
from testkit.cases import thehive4_case, thehive5_case
from testkit.container import run_container_job
from testkit.container_engine import container_options, missing_tools, podman
from testkit.cortex import REPO
from testkit.cortex_host import CORTEX_UID, cortex_job_folder
from testkit.image_build import build_base_image, build_test_image
from testkit.image_lock import WHEEL_PLATFORM, download_own_wheels, download_wheels
from testkit.records import told, untimed
from testkit.smtp_faults import PASSWORD, USER
from testkit.thehive_actions import V1, Actions, action, now_ms

# podman's storage is the machine's: each test session builds and removes an image of its own name.
IMAGE = f"localhost/phish_feedback:test-{os.getpid()}"


@pytest.fixture(scope="session")
def wheels(tmp_path_factory) -> Path:
    """docs/image.md's offline folder, holding this machine's own wheels besides the image's, as a wheelhouse
    shared with the host would."""
    folder = tmp_path_factory.mktemp("wheels")
    download_wheels(folder)
    download_own_wheels(folder)
    return folder


@pytest.fixture(scope="session")
def engine(request) -> Iterator[list[str]]:
    """podman, with the base image in its storage and the responder's image built from this tree."""
    reason = missing_tools()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the container tests: {reason}")
        pytest.skip(reason)
    command = podman()
    build_base_image(command)
    build_test_image(command, IMAGE, request.getfixturevalue("wheels"))
    yield command
    subprocess.run([*command, "rmi", IMAGE], capture_output=True)


@pytest.fixture
def jobs():
    """Cortex's job.directory: the cortex user's; each job folder in it is made private to that user."""
    directory = Path(tempfile.mkdtemp(prefix="cortex-jobs-"))
    os.chown(directory, CORTEX_UID, CORTEX_UID)
    directory.chmod(0o700)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def container_job(engine, jobs, job_config):
    """One job through the image; keyword arguments override configuration items."""

    def run(data, *, kill_after=120, arguments=(), network="host", **items):
        folder = cortex_job_folder(jobs, data, job_config(**items))
        return run_container_job(engine, IMAGE, folder, kill_after=kill_after, arguments=arguments, network=network)

    return run


def test_feedback_is_delivered_over_starttls_with_a_login_and_recorded(container_job, smtp):
    result = container_job(thehive4_case("Phishing")).result

    assert result.success, result.everything_printed()
    assert smtp.recipients() == ["alice@example.org"]
    assert smtp.logins == [(USER, True)]
    assert untimed(result) == [*told("Phishing", "alice@example.org"), "mail sent"]
    assert PASSWORD not in result.everything_printed()


def test_case_that_is_not_a_phishing_report_is_a_cortex_error(container_job, smtp):
    result = container_job(thehive4_case(title="Ransomware on FS01")).result

    assert result.output["success"] is False
    assert "title must start with 'Phishing report'" in result.error
    assert "Traceback" not in result.everything_printed()
    assert smtp.delivered == []


def test_private_job_folder_of_another_user_is_answered_and_left_deletable_by_that_user(engine, jobs, job_config, smtp):
    folder = cortex_job_folder(jobs, thehive4_case(), job_config())
    assert (folder.stat().st_mode & 0o777, folder.stat().st_uid) == (0o700, CORTEX_UID)

    result = run_container_job(engine, IMAGE, folder).result
    written = folder / "output" / "output.json"

    assert result.success, result.everything_printed()
    assert (written.stat().st_uid, written.stat().st_gid) == (CORTEX_UID, CORTEX_UID)
    # What Cortex does once it has read the report: delete the job folder, as the cortex user.
    subprocess.run(["rm", "-r", str(folder)], user=CORTEX_UID, group=CORTEX_UID, extra_groups=[], check=True)
    assert not folder.exists()


def test_image_started_as_the_folder_owner_runs_as_that_user(engine, jobs, job_config, smtp):
    """As a Kubernetes security context may start it: no root to drop, the job still answered."""
    folder = cortex_job_folder(jobs, thehive4_case(), job_config())

    result = run_container_job(engine, IMAGE, folder, user=f"{CORTEX_UID}:{CORTEX_UID}").result

    assert result.success, result.everything_printed()
    assert smtp.recipients() == ["alice@example.org"]
    assert (folder / "output" / "output.json").stat().st_uid == CORTEX_UID


def test_image_started_as_the_folder_owner_needs_no_capability_and_writes_nothing_but_its_report(
    engine, jobs, job_config, smtp
):
    """A hardened security context: read-only root file system, no /tmp, no capability, no new privileges."""
    folder = cortex_job_folder(jobs, thehive4_case(), job_config())
    hardened = ("--read-only", "--read-only-tmpfs=false", "--cap-drop", "ALL", "--security-opt", "no-new-privileges")

    result = run_container_job(engine, IMAGE, folder, user=f"{CORTEX_UID}:{CORTEX_UID}", options=hardened).result

    assert result.success, result.everything_printed()
    assert smtp.recipients() == ["alice@example.org"]
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.parent.name == "output") == [
        "output/output.json"
    ]


def test_image_started_as_a_user_who_cannot_enter_the_job_folder_says_so(engine, jobs, job_config, smtp):
    """A security context with another uid than Cortex's: no report can be written, and what the job prints,
    which Cortex shows instead, names the cause rather than a missing input."""
    folder = cortex_job_folder(jobs, thehive4_case(), job_config())

    result = run_container_job(engine, IMAGE, folder, user="1000:1000").result

    assert result.output is None
    assert "cannot be reached by user id 1000 (permission denied)" in result.everything_printed()
    assert "the user that owns the job folder" in result.everything_printed()
    assert "does not exist" not in result.everything_printed()
    assert smtp.delivered == []


# In the responder's place: writes as its report the credentials the image's entry started it with.
CREDENTIALS_PROBE = """
import json
status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines())
names = ("Uid", "Gid", "Groups", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs")
with open("/job/output/output.json", "w") as output:
    json.dump({"success": True, "full": {name: status[name].split() for name in names}}, output)
"""


@pytest.mark.parametrize("owner", [CORTEX_UID, 0], ids=["cortex_user", "root"])
def test_the_responder_never_has_roots_powers_whoever_owns_the_job_folder(engine, jobs, job_config, tmp_path, owner):
    """A Cortex that runs as root makes root's job folders: the responder keeps that uid, and no capability."""
    folder = cortex_job_folder(jobs, thehive4_case(), job_config())
    for path in (folder, *folder.rglob("*")):
        os.chown(path, owner, owner)
    probe = tmp_path / "probe.py"
    probe.write_text(CREDENTIALS_PROBE)
    probe.chmod(0o644)

    credentials = run_container_job(engine, IMAGE, folder, script=probe).result.output["full"]

    assert credentials["Uid"] == [str(owner)] * 4 and credentials["Gid"] == [str(owner)] * 4
    assert credentials["Groups"] == []
    assert {credentials[name][0] for name in ("CapPrm", "CapEff", "CapBnd", "CapAmb")} == {"0000000000000000"}
    assert credentials["NoNewPrivs"] == ["1"]


def test_the_job_folder_mounted_as_cortex_kubernetes_runner_does_is_answered(engine, jobs, job_config, smtp):
    """input/ read-only and output/ under a /job the container runtime makes, root's: the report is the cortex
    user's, written by the responder run as that user."""
    folder = cortex_job_folder(jobs, thehive4_case(), job_config())

    result = run_container_job(engine, IMAGE, folder, kubernetes=True).result

    assert result.success, result.everything_printed()
    assert smtp.recipients() == ["alice@example.org"]
    assert (folder / "output" / "output.json").stat().st_uid == CORTEX_UID


def test_a_job_that_ends_on_an_error_under_kubernetes_runs_once_and_logs_in_once(engine, jobs, job_config, smtp):
    """Cortex's Kubernetes Job would start a job that exits with another code than 0 again, six times over: a wrong
    password tried seven times locks many a mailbox, and the analyst would wait minutes for the one sentence."""
    folder = cortex_job_folder(jobs, thehive4_case(), job_config(smtp_password="Wr0ng-password"))

    job = run_container_job(engine, IMAGE, folder, kubernetes=True)

    assert job.starts == 1
    assert "refused the login" in job.result.error
    assert [good for _, good in smtp.logins] == [False]


@pytest.mark.parametrize("kubernetes", [False, True], ids=["docker", "kubernetes"])
def test_a_job_in_its_container_counts_the_reporters_of_the_job_thehive_lists_before_it(
    engine, jobs, job_config, thehive, api, smtp, kubernetes
):
    """The job finds its own action by the Cortex job id in its folder's name: the docker runner's mount, or the
    Kubernetes runner's CORTEX_JOB_FOLDER (docs/exactly-once.md)."""
    actions = Actions(
        action(
            "AYfirst",
            now_ms() - 60_000,
            ended=now_ms() - 1000,
            tags=notified_tags("alice@example.org", datetime.now(timezone.utc), "Spam"),
        ),
        action("AYsecond", now_ms() - 2000),
    )
    thehive.expect_request(V1, query_string="name=case-actions").respond_with_handler(actions.answer)
    thehive.expect_request(V1).respond_with_json([])
    folder = cortex_job_folder(jobs, thehive4_case(), job_config(**api), job_id="AYsecond")

    result = run_container_job(engine, IMAGE, folder, kubernetes=kubernetes).result

    assert result.success, result.everything_printed()
    assert smtp.recipients() == []
    [counted] = result.output["full"]["warnings"]
    assert counted.startswith("alice@example.org: counted as notified")


def test_a_mail_server_on_the_cortex_hosts_loopback_is_out_of_a_jobs_reach_and_the_job_says_why(container_job, smtp):
    """In the network Cortex's docker runner leaves its containers in (the engine's bridge), localhost is the
    container's own: the manifest's default smtp_host reaches no server on the Cortex host."""
    job = container_job(thehive4_case(), network="bridge", smtp_host="localhost", smtp_port=smtp.port, smtp_retries=0)
    result = job.result

    assert smtp.delivered == [] and "refused the connection" in result.error
    assert "where localhost is the container itself: set smtp_host to the mail server's name" in result.error


def test_job_folder_given_as_argument_as_cortex_3_does(container_job, smtp):
    result = container_job(thehive4_case(), arguments=("/job",)).result

    assert result.success, result.everything_printed()
    assert smtp.recipients() == ["alice@example.org"]


def test_cacerts_is_trusted_inside_the_container_for_thehive_and_smtp(container_job, smtp, thehive_tls):
    url = thehive_tls.url_for("/").rstrip("/")
    result = container_job(thehive5_case("Spam", ()), thehive_url=url, thehive_apikey="hive-key").result

    assert url.startswith("https://")
    assert result.success, result.everything_printed()
    assert smtp.recipients() == ["bob@example.org"]


def test_without_cacerts_the_container_trusts_only_its_own_store(container_job, smtp):
    result = container_job(thehive4_case(), cacerts=None).result

    assert result.output["success"] is False
    assert "could not be verified" in result.error
    assert smtp.delivered == []


def test_time_budget_ends_a_stalled_delivery_with_a_report_before_cortex_kills_the_container(container_job, smtp):
    # jobTimeout 1 minute: the responder allows itself 48 s; Cortex would kill the container at 60 s.
    smtp.faults.stall_after = 1
    job = container_job(
        thehive4_case("Spam", ["alice@example.org", "bob@example.org"]),
        jobTimeout=1,
        smtp_timeout=300,
        kill_after=60,
    )

    assert not job.killed
    assert job.result.success, job.result.everything_printed()
    assert smtp.recipients() == ["alice@example.org"]
    # The server had bob's whole message when the budget ran out: it may deliver it yet, so it is not sent again.
    assert [failure["address"] for failure in job.result.output["full"]["unsure"]] == ["bob@example.org"]
    assert "feedback_sent:alice@example.org" in job.result.tags
    assert (
        "feedback_sent:bob@example.org" not in job.result.tags and "feedback_unsure:bob@example.org" in job.result.tags
    )


def test_container_killed_at_a_job_timeout_shorter_than_its_plan_still_records_whom_it_mailed(container_job, smtp):
    # The responder's Job timeout (what Cortex enforces) shorter than the jobTimeout the job plans for (30 min).
    smtp.faults.stall_after = 1
    job = container_job(
        thehive4_case("Spam", ["alice@example.org", "bob@example.org"]), smtp_timeout=300, kill_after=20
    )

    assert job.killed
    assert job.result.success, job.result.everything_printed()
    assert smtp.recipients() == ["alice@example.org"]
    assert {"feedback_sent:alice@example.org", "mail sent", "mail failed"} <= set(job.result.tags)
    assert not any("bob@example.org" in tag for tag in job.result.tags)


def test_image_holds_the_compiled_responder_and_nothing_else_of_the_folder(engine):
    find = [*engine, "run", "--rm", *container_options(engine), "--entrypoint", "find", IMAGE, "/worker"]
    listing = subprocess.run(find, capture_output=True, text=True, check=True).stdout.split()
    # Each module by its path (feedback/smtp/settings.py beside feedback/settings.py), and what compileall made of it.
    modules = {path[: -len(".py")] for path in listing if path.endswith(".py")}
    compiled = {re.sub(r"__pycache__/([^/.]+)\.[^/]+\.pyc$", r"\1", path) for path in listing if path.endswith(".pyc")}

    assert "/worker/PhishFeedback/PhishFeedback.json" in listing
    assert "/worker/PhishFeedback/phish_feedback" in modules and modules <= compiled
    assert "/worker/PhishFeedback/feedback/smtp/session" in compiled
    for left_out in ("Dockerfile", ".dockerignore", "README.md", "assets"):
        assert f"/worker/PhishFeedback/{left_out}" not in listing


def test_offline_build_takes_the_best_fitting_wheel_of_a_folder_that_also_holds_this_machines_own(engine, wheels):
    """Every file of each locked version has its hash in the lock: pip in the image may pick another machine's
    wheel (a newer manylinux that fits the image too) and still pass --require-hashes."""
    offered = sorted(wheel.name for wheel in wheels.glob("cryptography-*.whl"))
    read = "from importlib.metadata import distribution; print(distribution('cryptography').read_text('WHEEL'))"
    show = [*engine, "run", "--rm", *container_options(engine), "--entrypoint", "python", IMAGE, "-c", read]
    wheel = subprocess.run(show, capture_output=True, text=True, check=True).stdout
    platforms = re.findall(r"^Tag: [^-]+-[^-]+-(\S+)$", wheel, re.MULTILINE)

    assert len(offered) == 2 and WHEEL_PLATFORM in offered[0] + offered[1], offered
    [own] = [name for name in offered if WHEEL_PLATFORM not in name]
    assert platforms and all(platform in own for platform in platforms), (platforms, own)


def test_dev_image_that_cannot_build_points_at_the_mirror_and_offline_recipes(engine):
    """A build that cannot reach its base image (a company network, no network) ends saying where the way round is."""
    done = subprocess.run(
        [str(REPO / "dev"), "image", "phishfeedback-unbuildable:0", "--build-arg", "BASE_IMAGE=localhost:1/none:0"],
        capture_output=True,
        text=True,
        timeout=600,
    )

    assert done.returncode != 0
    assert "could not build phishfeedback-unbuildable:0" in done.stderr
    assert "docs/image.md" in done.stderr and "Offline" in done.stderr and "PIP_INDEX_URL" in done.stderr
