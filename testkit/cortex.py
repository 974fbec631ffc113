"""Running the responder the way Cortex's process runner does, and TheHive's part after it.

See docs/cortex-and-thehive.md §1.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MANIFEST = REPO / "PhishFeedback" / "PhishFeedback.json"
# The acknowledgement flavour: the same script and configuration items, its own `config` (docs/flavours.md).
ACKNOWLEDGE_MANIFEST = REPO / "PhishFeedback" / "PhishFeedback_Acknowledge.json"
MANIFESTS = (MANIFEST, ACKNOWLEDGE_MANIFEST)
# Other Pythons' folders (os.pathsep between them) whose python3 runs the jobs of the end-to-end tests once more,
# besides the tests' own (tests/conftest.py's `job_python`): .ci/run's 3.9, the oldest a Cortex host is likely to have.
OTHER_JOB_PYTHONS = [folder for folder in os.environ.get("PHISHFEEDBACK_JOB_PYTHONS", "").split(os.pathsep) if folder]
# And those whose python3 runs each end-to-end test function once, with its first parameters, unless it is slow (its
# variants differ in data, and a slow test in waits, not in what they ask of Python): .ci/run's 3.13, the newest.
ONCE_JOB_PYTHONS = [
    folder for folder in os.environ.get("PHISHFEEDBACK_JOB_PYTHONS_ONCE", "").split(os.pathsep) if folder
]
_jobs = itertools.count(1)
# All a job inherits from Cortex's service (systemd's, for a service of a user without a login: no locale, no proxy)
# besides the Python that runs it and Cortex's REQUESTS_CA_BUNDLE: none of the tests' variables, which no job on a
# Cortex host sees (this machine's SSL_CERT_FILE, a developer's proxy). A test gives what its host has in
# `environment`.
SERVICE_ENVIRONMENT = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/nonexistent",
    "USER": "cortex",
    "LOGNAME": "cortex",
    "SHELL": "/usr/sbin/nologin",
}


def cortex_config(values: dict, *, cacerts: str | None = None, manifest: Path = MANIFEST) -> dict:
    """The `config` Cortex builds for a flavour: its manifest's `config`, every item's value, else its default,
    else null, plus Cortex's keys. A multi item without a default is [null], as Cortex's form saves it untouched
    (its one empty entry)."""
    manifest = json.loads(manifest.read_text(encoding="utf-8"))
    config = dict(manifest.get("config", {}))
    for item in manifest["configurationItems"]:
        config[item["name"]] = item.get("defaultValue", [None] if item["multi"] else None)
    config.update(
        proxy_http=None,
        proxy_https=None,
        cacerts=cacerts,
        jobTimeout=30,
        check_tlp=True,
        max_tlp=2,
        check_pap=True,
        max_pap=2,
    )
    config.update(values)
    # As JobRunnerSrv adds it: cortexutils exports it to the job's environment (http_proxy, https_proxy).
    proxy = {
        scheme: config[f"proxy_{scheme}"] for scheme in ("http", "https") if isinstance(config[f"proxy_{scheme}"], str)
    }
    if proxy and "proxy" not in values:
        config["proxy"] = proxy
    return config


@dataclass
class JobResult:
    output: dict | None
    raw_output: str
    stdout: str
    stderr: str
    job: Path

    @property
    def success(self) -> bool:
        """As Cortex reads a report: a success whose `full` is no object leaves the job in progress for ever."""
        return bool(self.output and self.output.get("success") is True and isinstance(self.output.get("full"), dict))

    @property
    def operations(self) -> list[dict]:
        """As Cortex passes them on: all of them dropped where one is no object."""
        operations = self.output.get("operations", []) if self.success else []
        return operations if isinstance(operations, list) and all(isinstance(o, dict) for o in operations) else []

    @property
    def tags(self) -> list[str]:
        """The tags of the operations, in their order."""
        return [operation["tag"] for operation in self.operations]

    @property
    def error(self) -> str:
        return self.output.get("errorMessage", "") if self.output else ""

    def everything_printed(self) -> str:
        """All an admin or analyst could ever see of the job."""
        return "\n".join((self.raw_output, self.stdout, self.stderr))


def write_job(
    workdir: Path,
    data: object,
    config: object,
    *,
    data_type: str = "thehive:case",
    tlp: int = 2,
    pap: int = 2,
    parameters: dict | None = None,
    job_id: str | None = None,
) -> Path:
    """A job folder with input/input.json (and input/cacerts) as Cortex writes them; named as Cortex names it,
    `cortex-job-<id>-<random digits>`, its id `job_id` or one of Elasticsearch's kind (20 characters of base64url)."""
    job = workdir / f"cortex-job-{job_id or _elasticsearch_id()}-{next(_jobs)}"
    (job / "input").mkdir(parents=True)
    job_input = {
        "data": data,
        "dataType": data_type,
        "tlp": tlp,
        "pap": pap,
        "message": "",
        "parameters": parameters
        if parameters is not None
        else {"organisation": "SOC", "user": "analyst@soc.example.org"},
        "config": config,
    }
    # In UTF-8, its characters as they are, as Cortex (Play JSON) writes it; a lone surrogate, which UTF-8 cannot
    # hold, as its JSON escape.
    text = json.dumps(job_input, ensure_ascii=False)
    (job / "input" / "input.json").write_bytes(text.encode("utf-8", "backslashreplace"))
    if isinstance(config, dict) and isinstance(config.get("cacerts"), str) and config["cacerts"].strip():
        (job / "input" / "cacerts").write_text(config["cacerts"], encoding="utf-8")
    return job


def _elasticsearch_id() -> str:
    return base64.urlsafe_b64encode(os.urandom(15)).decode()


def read_output(job: Path) -> tuple[dict | None, str]:
    """What Cortex reads back: output/output.json, parsed (a JSONDecodeError is a hung job in Cortex)."""
    output_file = job / "output" / "output.json"
    raw = output_file.read_text(encoding="utf-8") if output_file.is_file() else ""
    return (json.loads(raw, parse_constant=_no_json) if raw else None), raw


def _no_json(constant: str) -> None:
    raise ValueError(f"{constant} is no JSON: Cortex could not parse the report, and would leave the job in progress")


def run_job(
    workdir: Path,
    data: object,
    config: dict,
    *,
    timeout: float = 120,
    python_dir: Path | None = None,
    stop_after: float | None = None,
    stop_signal: int = signal.SIGTERM,
    environment: dict[str, str | None] | None = None,
    **job,
) -> JobResult:
    """Execute the script by path from the responders root, with the job folder as its only argument.

    `python3` is looked up on PATH, as the script's #! line does; first there comes `python_dir`,
    else $PHISHFEEDBACK_JOB_PYTHON (tests/conftest.py's `job_python`: another Python than the tests'), else
    the tests' own Python. `stop_after` seconds, if given, end with Cortex's SIGTERM (or `stop_signal`: SIGINT is a
    Ctrl-C). `environment`: what the host adds to the environment of Cortex's service (None removes a variable).
    """
    folder = write_job(workdir, data, config, **job)
    process = start_job(folder, python_dir, environment)
    if stop_after is not None:
        # What Cortex does when the job outlives jobTimeout. That counts in minutes, long after the job's start-up
        # took over SIGTERM: so do these seconds, whatever a busy machine makes of the start of Python.
        wait_until_it_handles_sigterm(process)
        time.sleep(stop_after)
        process.send_signal(stop_signal)
    return finish_job(process, folder, timeout)


def wait_until_it_handles_sigterm(process: subprocess.Popen, within: float = 30) -> None:
    """Until the process catches SIGTERM (the signals it catches are in Linux's /proc; elsewhere, no wait)."""
    status = Path(f"/proc/{process.pid}/status")
    end = time.monotonic() + within
    while process.poll() is None and time.monotonic() < end:
        try:
            caught = re.search(r"^SigCgt:\s*([0-9a-f]+)$", status.read_text(), re.MULTILINE)
        except OSError:
            return
        if caught is None or int(caught.group(1), 16) >> (signal.SIGTERM - 1) & 1:
            return
        time.sleep(0.005)


def jobs_python(python_dir: Path | None = None) -> Path:
    """The folder of the python3 that runs the jobs: the one given, else $PHISHFEEDBACK_JOB_PYTHON, else the tests'."""
    return Path(python_dir or os.environ.get("PHISHFEEDBACK_JOB_PYTHON") or Path(sys.executable).parent)


def package_version(package: str, python_dir: Path | None = None) -> tuple[int, ...]:
    """The version of a package installed for the python3 that runs the jobs (see jobs_python)."""
    read = f"import importlib.metadata as m; print(m.version({package!r}))"
    done = subprocess.run([str(jobs_python(python_dir) / "python3"), "-c", read], capture_output=True, text=True)
    return tuple(int(part) for part in done.stdout.split(".") if part.strip().isdigit())


def start_job(
    folder: Path,
    python_dir: Path | None = None,
    environment: dict[str, str | None] | None = None,
    measured: bool = False,
    responders: Path = REPO,
    user: int | None = None,
) -> subprocess.Popen:
    """The script started by path on a job folder, as Cortex's process runner starts it (see run_job); `measured`:
    through the benchmark's small launcher, which prints the job's own peak RSS last (`peak_rss_kib`); `responders`:
    the responders root the script is in; `user`: the user id it runs as, with no group but its own; `environment`:
    what the host adds to the service's (None removes a variable)."""
    python = str(jobs_python(python_dir))
    env = dict(SERVICE_ENVIRONMENT, PATH=os.pathsep.join((python, SERVICE_ENVIRONMENT["PATH"])))
    if (folder / "input" / "cacerts").exists():
        env["REQUESTS_CA_BUNDLE"] = str(folder / "input" / "cacerts")
    for name, value in (environment or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    command = json.loads(MANIFEST.read_text(encoding="utf-8"))["command"]
    launcher = [sys.executable, str(REPO / "bench" / "launch.py")] if measured else []
    return subprocess.Popen(
        [*launcher, str(responders / command), str(folder)],
        cwd=responders,
        user=user,
        group=user,
        extra_groups=None if user is None else [],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )


def finish_job(process: subprocess.Popen, folder: Path, timeout: float = 120) -> JobResult:
    """What Cortex sees of a job once its process ended."""
    stdout, stderr = process.communicate(timeout=timeout)
    output, raw = read_output(folder)
    return JobResult(output, raw, stdout.decode(errors="replace"), stderr.decode(errors="replace"), folder)


def peak_rss_kib(result: JobResult) -> int:
    """The peak RSS of a job started `measured`, in KiB. Not the peak a test process reads of its children: a child
    counts the memory it shared with its parent before exec, and a test worker grows past 150 MB."""
    return int(result.stdout.splitlines()[-1].split()[1])


def modules_loaded_by(job: Path, packages: tuple[str, ...]) -> list[str]:
    """The modules of these packages that running the job loads (the script run as __main__, in-process)."""
    return after_job(job, f"' '.join(sorted(m for m in sys.modules if m.split('.')[0] in {packages!r}))").split()


def after_job(job: Path, expression: str) -> str:
    """What the expression (`sys` at hand) prints once the job has run in-process, the script as __main__."""
    script = REPO / json.loads(MANIFEST.read_text(encoding="utf-8"))["command"]
    # Not through runpy, which loads pkgutil and with it typing: the probe must load nothing of its own. The script
    # ends the process itself once its report is written (os._exit): the probe prints then.
    probe = f"""
import os, sys
sys.argv = sys.argv[1:3]
sys.path.insert(0, os.path.dirname(sys.argv[0]))
end = os._exit
def ended(code):
    print({expression}, flush=True)
    end(code)
os._exit = ended
source = open(sys.argv[0], encoding='utf-8').read()
exec(compile(source, sys.argv[0], 'exec'), {{'__name__': '__main__', '__file__': sys.argv[0]}})
"""
    done = subprocess.run(
        [sys.executable, "-c", probe, str(script), str(job)], cwd=REPO, capture_output=True, text=True
    )
    return done.stdout.strip()


def apply_operations(thehive_object: dict, result: JobResult) -> dict:
    """The object as TheHive leaves it after the job: tags added only when the job succeeded, and none at all where
    one operation is of a kind TheHive 4.1 cannot apply to that object (`ActionSrv.finished` runs them in one
    transaction)."""
    updated = dict(thehive_object, tags=list(thehive_object.get("tags", [])))
    kind = "AddTagToAlert" if thehive_object.get("_type") == "alert" else "AddTagToCase"
    operations = result.operations
    if not all(operation.get("type") == kind and isinstance(operation.get("tag"), str) for operation in operations):
        return updated
    for operation in operations:
        if operation["tag"] not in updated["tags"]:
            updated["tags"].append(operation["tag"])
    return updated
