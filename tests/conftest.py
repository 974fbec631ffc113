"""Shared fixtures: the loopback SMTP server and the Cortex job runner, used by every end-to-end test."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

# Its assertions (LoopbackSmtp.assert_each_got_exactly_one) explain a failure as a test's own do.
pytest.register_assert_rewrite("testkit.smtp_server")

from testkit.certificates import Certificates  # noqa: E402
from testkit.cortex import (  # noqa: E402 (after the rewrite is registered)
    MANIFEST,
    ONCE_JOB_PYTHONS,
    OTHER_JOB_PYTHONS,
    REPO,
    JobResult,
    cortex_config,
    jobs_python,
    run_job,
    write_job,
)
from testkit.mailserver import MailserverProcess  # noqa: E402
from testkit.slow_scrub import forget_secrets  # noqa: E402
from testkit.smtp_faults import PASSWORD, USER  # noqa: E402
from testkit.smtp_server import LoopbackSmtp  # noqa: E402
from testkit.spamd import Spamd  # noqa: E402
from testkit.thehive_api import API_KEY  # noqa: E402

# The `entra` token endpoint and the `oauth` configuration items for OAuth2 tests; Graph and its items;
# Google's token endpoint and the Gmail API (`google_oauth`, `gmail_api`) and the `gmail` configuration items;
# every way out in turn (`way_out`).
pytest_plugins = [
    "testkit.token_endpoint",
    "testkit.graph_api",
    "testkit.google_oauth",
    "testkit.gmail_api",
    "testkit.ways_out",
    "testkit.cortex_host",
]


# Session fixtures too costly to make on every pytest-xdist worker (an image build, a Postfix with its Dovecot, a
# virtual environment with Debian 12's packages, a host whose Cortex runs as its own user):
# the tests that use one form a group, which runs on one worker (./dev test's --dist loadgroup).
MADE_ONCE = {
    "engine": "container",
    "mail_servers": "real-servers",
    "debian12_python": "debian12",
    "cortex_installation": "cortex-host",
}


@pytest.fixture(autouse=True)
def no_secret_of_another_test():
    """A job remembers its secrets for the life of its process: a test in-process starts with none, whichever test
    ran before it on its worker (a short secret of the scrubbing properties' blotted out `echo` in another test)."""
    forget_secrets()


# The fixtures of the tests whose jobs run on a Python of their own choosing: the image's, a bare one, the host's.
OWN_PYTHON = {"engine", "bare_python", "debian12_python", "cortex_installation"}


def pytest_generate_tests(metafunc):
    """A test that starts a job (through `cortex`, or in a job folder of its own with `job_config`), or runs one of the
    TheHive commands, runs its jobs or commands with each of OTHER_JOB_PYTHONS and ONCE_JOB_PYTHONS too (see
    `once_on_some_pythons`)."""
    fixtures = set(metafunc.fixturenames)
    starts_a_job = "cortex" in fixtures or {"job_config", "tmp_path"} <= fixtures
    runs_a_command = bool(fixtures & {"thehive_command", "interrupted_command"})
    pythons = [*OTHER_JOB_PYTHONS, *ONCE_JOB_PYTHONS]
    if pythons and (starts_a_job or runs_a_command) and not fixtures & OWN_PYTHON:
        metafunc.parametrize("job_python", [None, *pythons], indirect=True, ids=python_id)


def python_id(folder: str | None) -> str:
    return os.path.relpath(folder, REPO) if folder else "python3"


@pytest.fixture(autouse=True)
def job_python(request, monkeypatch):
    """The folder of the python3 that runs this test's jobs: the tests' own, or another (testkit/cortex.py)."""
    folder = getattr(request, "param", None)
    if folder:
        monkeypatch.setenv("PHISHFEEDBACK_JOB_PYTHON", folder)


def pytest_configure(config):
    """Every Python that runs the jobs finds the responder's modules compiled, as README's installation compiles them:
    where Python writes no bytecode (PYTHONDONTWRITEBYTECODE, as on a CI runner), each job compiled the 60 modules it
    loads, about 80 ms of CPU, at each of the run's thousands of jobs. Once, before pytest-xdist's workers start."""
    if hasattr(config, "workerinput"):
        return
    pythons = {sys.executable, *(str(Path(folder) / "python3") for folder in [*OTHER_JOB_PYTHONS, *ONCE_JOB_PYTHONS])}
    for python in sorted(pythons):
        subprocess.run([python, "-m", "compileall", "-q", str(REPO / "PhishFeedback")], check=False)


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(config, items):
    """The slow tests (marked `slow`, and the property tests, whose time grows with PHISHFEEDBACK_EXAMPLES) come
    first, so that on several workers none of them starts last and holds up the end of the run."""
    once_on_some_pythons(config, items)
    for item in items if config.pluginmanager.hasplugin("xdist") else ():
        for fixture, group in MADE_ONCE.items():
            if fixture in item.fixturenames:
                item.add_marker(pytest.mark.xdist_group(group))
    items.sort(
        key=lambda item: not (item.get_closest_marker("slow") or getattr(item.function, "is_hypothesis_test", False))
    )


def once_on_some_pythons(config, items) -> None:
    """On each of ONCE_JOB_PYTHONS, the first of each test function's variants alone, and no slow test."""
    seen, kept, left = set(), [], []
    for item in items:
        python = item.callspec.params.get("job_python") if hasattr(item, "callspec") else None
        if python in ONCE_JOB_PYTHONS:
            function = (item.path, item.originalname, python)
            if item.get_closest_marker("slow") or function in seen:
                left.append(item)
                continue
            seen.add(function)
        kept.append(item)
    if left:
        config.hook.pytest_deselected(items=left)
        items[:] = kept


def pytest_collection_finish(session):
    """pytest-xdist keeps a group on one worker by the group it writes into each test's id; where a pytest release
    ignores that (9.2), the image is built and Postfix started on every worker, slowly and in silence but for this."""
    if getattr(session.config.option, "loadgroup", False):  # an xdist worker of --dist loadgroup
        lost = [
            item.nodeid for item in session.items if item.get_closest_marker("xdist_group") and "@" not in item.nodeid
        ]
        if lost:
            warnings.warn(
                pytest.PytestConfigWarning(
                    f"pytest {pytest.__version__} with this pytest-xdist runs {lost[0]} and the rest of its group on "
                    "any worker: install requirements-dev.txt's pytest (./dev does)"
                ),
                stacklevel=1,
            )


@pytest.fixture(scope="session")
def certificates() -> Certificates:
    return Certificates()


@pytest.fixture(scope="session")
def spamd():
    """SpamAssassin's daemon, started once a worker: it reads its rules once, not once a message. CI must have it."""
    if not Spamd.installed():
        if os.environ.get("CI") == "true":
            pytest.fail("CI must score the messages with SpamAssassin: apt-get install spamd spamc")
        pytest.skip("needs SpamAssassin's spamd and spamc (apt-get install spamd spamc)")
    daemon = Spamd()
    daemon.start()
    yield daemon
    daemon.stop()


@pytest.fixture
def smtp(certificates):
    """A STARTTLS server that requires AUTH, with a certificate from a private CA."""
    with LoopbackSmtp(certificates) as server:
        yield server


@pytest.fixture
def settings(smtp, certificates) -> dict:
    """Configuration items as a Cortex admin would set them for the loopback server."""
    return {
        "from": "SOC <soc@example.org>",
        "smtp_host": smtp.host,
        "smtp_port": smtp.port,
        "smtp_user": USER,
        "smtp_password": PASSWORD,
        "smtp_timeout": 5,
        "smtp_retries": 1,
        "cacerts": certificates.ca_pem,
    }


@pytest.fixture
def bare_python(tmp_path) -> Path:
    """A folder whose python3 has no cortexutils: the system Python of a fresh Debian 12 host.

    The tests' own interpreter without its site-packages, as a Python where nobody ran pip install.
    """
    folder = tmp_path / "bare-python"
    folder.mkdir()
    (folder / "python3").write_text(f'#!/bin/sh\nexec "{sys.executable}" -S "$@"\n')
    (folder / "python3").chmod(0o755)
    return folder


@pytest.fixture
def job_config(settings):
    """The `config` Cortex gives a job of a flavour (cacerts among it) for these settings; keyword arguments
    override items."""

    def build(manifest=MANIFEST, **items) -> dict:
        return cortex_config({**settings, **items}, manifest=manifest)

    return build


@pytest.fixture
def cortex(tmp_path, job_config):
    """Runs one job of a flavour (`manifest`, the verdict's by default) as Cortex does, in the host's environment
    changed by `environment`; keyword arguments override configuration items."""

    def run(
        data,
        *,
        data_type="thehive:case",
        tlp=2,
        pap=2,
        parameters=None,
        stop_after=None,
        stop_signal=signal.SIGTERM,
        manifest=MANIFEST,
        environment=None,
        **items,
    ) -> JobResult:
        job = {"data_type": data_type, "tlp": tlp, "pap": pap, "parameters": parameters}
        stop = {"stop_after": stop_after, "stop_signal": stop_signal}
        config = job_config(manifest, **items)
        return run_job(tmp_path, data, config, environment=environment, **job, **stop)

    return run


@pytest.fixture
def composer(job_config):
    """The pure core alone, in-process: settings, case, decision and the Composer of its messages.

    For what needs many messages and no delivery; `manifest` picks the flavour, keyword arguments
    override configuration items. Returns the settings and the Composer.
    """

    from feedback.case import read_report
    from feedback.messages import Composer
    from feedback.plan import decide
    from feedback.settings import read_settings
    from feedback.tags import record_time

    def build(case: dict, manifest=MANIFEST, data_type="thehive:case", **items):
        config = read_settings(job_config(manifest, **items), {})
        report = read_report(case, data_type, config.custom_field, config.title_prefix, config.audience.flavour)
        decision = decide(report, [], config.audience, record_time())
        return config, Composer(decision, report, config.message)

    return build


@pytest.fixture
def deliver_within(composer):
    """The shell alone, no job: settings, case, decision, messages, then delivery within `budget` seconds.

    For time budgets shorter than any jobTimeout Cortex allows (1 min); keyword arguments override
    configuration items. Returns the delivery, or raises its DeliveryError.
    """
    from feedback.delivery import deliver
    from feedback.transports import transport_for

    def run(case: dict, budget: float, **items):
        config, messages = composer(case, **items)
        deadline = time.monotonic() + budget
        return deliver(messages, transport_for(config, deadline), config.limits, deadline, lambda item, at: None)

    return run


@pytest.fixture
def thehive():
    """TheHive's API on loopback (pytest-httpserver); tests teach it the answers of the version they imitate."""
    from pytest_httpserver import HTTPServer

    server = HTTPServer(host="127.0.0.1")
    server.start()
    yield server
    server.clear()
    server.stop()


@pytest.fixture
def thehive_tls(certificates):
    """TheHive 5 behind HTTPS with a certificate from the test CA, naming a reporter in an observable."""
    from pytest_httpserver import HTTPServer

    from testkit.thehive_api import v1_observable

    server = HTTPServer(host="127.0.0.1", ssl_context=certificates.server_context())
    server.expect_request("/api/v1/query").respond_with_json([v1_observable("mail", "bob@example.org", ["reporter"])])
    server.start()
    yield server
    server.stop()


@pytest.fixture
def api(thehive):
    """Configuration items pointing at the loopback TheHive."""
    from testkit.thehive_api import API_KEY

    return {"thehive_url": thehive.url_for("/").rstrip("/"), "thehive_apikey": API_KEY}


@pytest.fixture
def mailserver(tmp_path):
    """`./dev mailserver` on a free port, ready (its settings printed); stopped with Ctrl-C's SIGINT after the test."""
    server = MailserverProcess(tmp_path / "mailserver")
    server.wait_for("Ctrl-C stops the server")
    yield server
    if server.process.poll() is None:
        server.stop()


@pytest.fixture
def thehive_https(certificates):
    """An HTTPS server on loopback whose certificate the test CA signed, for the admin scripts' TheHive."""
    from pytest_httpserver import HTTPServer

    server = HTTPServer(host="127.0.0.1", ssl_context=certificates.server_context())
    server.start()
    yield server
    server.clear()
    server.stop()


@pytest.fixture
def thehive_ca(tmp_path, certificates) -> str:
    """The test CA as a PEM file, for --cacerts."""
    path = tmp_path / "thehive-ca.pem"
    path.write_text(certificates.ca_pem)
    return path


def command_environment(**settings: str) -> dict[str, str]:
    """The tests' environment with `settings`, the Python that runs the jobs first on PATH: a command's
    `#!/usr/bin/env python3` finds it, as a person's shell finds the host's."""
    return {**os.environ, "PATH": f"{jobs_python()}{os.pathsep}{os.environ.get('PATH', '')}", **settings}


@pytest.fixture
def thehive_command(thehive_ca):
    """Runs one of the TheHive commands (set-up, statistics) as a person would, the key in THEHIVE_APIKEY;
    --cacerts names the test CA unless told."""

    def run(
        script: Path,
        url: str,
        *arguments: str,
        apikey: str = API_KEY,
        trusted: bool = True,
        timeout: float = 120,
        **popen: object,  # where its output goes, when not to the test
    ) -> subprocess.CompletedProcess:
        env = command_environment(THEHIVE_APIKEY=apikey)
        command = [str(script), "--url", url, *(["--cacerts", str(thehive_ca)] if trusted else []), *arguments]
        streams = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, **popen}
        return subprocess.run(command, env=env, text=True, timeout=timeout, **streams)

    return run


@pytest.fixture
def interrupted_command(thehive_ca):
    """Runs one of the TheHive commands as from a terminal and presses Ctrl-C once `asked()` says it asked TheHive:
    its exit code, standard output and standard error."""

    def run(script: Path, url: str, asked) -> tuple[int, str, str]:
        env = command_environment(THEHIVE_APIKEY=API_KEY)
        # As from a terminal: a shell that starts the suite in the background has its children ignore Ctrl-C.
        process = subprocess.Popen(
            [str(script), "--url", url, "--cacerts", str(thehive_ca)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        while not asked():
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
        return process.returncode, out, err

    return run


@pytest.fixture
def stats(thehive_command):
    """Runs thehive_stats.py as an analyst would (`thehive_command`), given a few minutes for the largest reads."""
    return functools.partial(thehive_command, REPO / "PhishFeedback" / "thehive_stats.py", timeout=300)


@pytest.fixture
def small_disk():
    """Mounts a small file system (a tmpfs: root only, where mount works) on a folder, made if need be: a disk that
    fills up."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mounted = []

    def mount(folder: Path, options: str) -> Path:
        folder.mkdir(mode=0o700, exist_ok=True)
        mounting = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True)
        if mounting.returncode != 0:
            pytest.skip(f"no tmpfs here: {mounting.stderr.decode(errors='replace')}")
        mounted.append(folder)
        return folder

    yield mount
    for folder in mounted:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.fixture
def on_a_full_disk(tmp_path, job_config, small_disk):
    """A job folder for a case whose output folder is a small file system, 256 kB unless said."""

    def job_for(case: dict, size: str = "256k") -> Path:
        job = write_job(tmp_path, case, job_config())
        small_disk(job / "output", f"size={size}")
        return job

    return job_for
