"""Reading a case's observables from TheHive's API, on TheHive 3, 4 and 5.

A case job does not carry its observables (docs/cortex-and-thehive.md §4), yet mail-collection pipelines put the
reporter and the reported message there. `requests` is imported here, on first use, so that a
plain case job does not pay for it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from feedback.case import Observable, Report, read_observables
from feedback.plan import REPORTER_NAMESPACE
from feedback.settings import TheHiveSettings
from feedback.tags import tag_values
from feedback.trust import trust_context

PAGE = 100
V1_QUERY = "/api/v1/query?name=case-observables"
LEGACY_SEARCH = "/api/case/artifact/_search?range=all"


class TheHiveError(Exception):
    """TheHive could not give the observables; the message names the URL and what to check."""


def observables_for(report: Report, settings: TheHiveSettings | None) -> tuple[list[Observable], list[str]]:
    """The report's observables and any warning; TheHive's failure only matters when the tags name no reporter."""
    if report.kind == "alert":
        return list(report.artifacts), []
    if settings is None:
        return [], []
    try:
        return fetch_observables(settings, report.id), []
    except TheHiveError as failure:
        if not tag_values(report.tags, REPORTER_NAMESPACE):
            raise
        return [], [f"{failure} The reporters were taken from the case's tags only."]


def fetch_observables(settings: TheHiveSettings, case_id: str) -> list[Observable]:
    """The case's observables, through the v1 query API or, where TheHive has none, the legacy search."""
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    context = trust_context(settings.cacerts)

    class TrustingAdapter(HTTPAdapter):
        """Verifies against the system's CAs and Cortex's cacerts, besides requests' own bundle."""

        def init_poolmanager(self, *args, **kwargs):
            super().init_poolmanager(*args, **kwargs, ssl_context=context)

    with requests.Session() as session:
        retry = Retry(
            total=2,
            backoff_factor=0.5,
            status_forcelist=(500, 502, 503, 504),
            allowed_methods=None,
            raise_on_status=False,
        )
        session.mount("http://", HTTPAdapter(max_retries=retry))
        session.mount("https://", TrustingAdapter(max_retries=retry))
        session.headers["Authorization"] = f"Bearer {settings.apikey}"
        if settings.organisation:
            session.headers["X-Organisation"] = settings.organisation
        session.proxies.update(settings.proxies)
        api = _Api(session, settings, requests.RequestException, requests.exceptions.SSLError)
        if settings.api == "legacy":
            return api.legacy(case_id)
        try:
            return api.v1(case_id)
        except _Absent as absent:
            if settings.api == "v1":
                raise TheHiveError(absent.args[0]) from None
        return api.legacy(case_id)


class _Absent(Exception):
    """The endpoint does not exist on this TheHive (404/405): an older version may have the other one."""


class _Api:
    def __init__(self, session, settings: TheHiveSettings, request_error: type, tls_error: type) -> None:
        self.session, self.settings = session, settings
        self.request_error, self.tls_error = request_error, tls_error
        self.shown = _shown(settings.url)

    def v1(self, case_id: str) -> list[Observable]:
        observables, start = [], 0
        while True:
            query = [
                {"_name": "getCase", "idOrName": case_id},
                {"_name": "observables"},
                {"_name": "page", "from": start, "to": start + PAGE},
            ]
            page = self._post(V1_QUERY, {"query": query})
            observables += read_observables(page)
            if len(page) < PAGE:
                return observables
            start += PAGE

    def legacy(self, case_id: str) -> list[Observable]:
        query = {"query": {"_parent": {"_type": "case", "_query": {"_id": case_id}}}}
        try:
            return read_observables(self._post(LEGACY_SEARCH, query))
        except _Absent as absent:
            raise TheHiveError(absent.args[0]) from None

    def _post(self, path: str, body: dict) -> list:
        url = self.settings.url + path
        where = f"TheHive at {self.shown}"
        try:
            answer = self.session.post(url, json=body, timeout=self.settings.timeout)
        except self.tls_error:
            raise TheHiveError(
                f"{where} could not be reached over verified TLS. Put the CA of TheHive's certificate in"
                " Cortex's cacerts setting, and check that thehive_url names the host the certificate covers."
            ) from None
        except self.request_error as failure:
            raise TheHiveError(
                f"{where} could not be reached ({type(failure).__name__}). Check thehive_url, that Cortex can"
                " reach TheHive, and Cortex's proxy settings."
            ) from None
        status = answer.status_code
        if status in (401, 403):
            raise TheHiveError(
                f"{where} refused the API key (HTTP {status}). Check thehive_apikey, that its user may read"
                " the case's observables, and thehive_organisation."
            )
        if status in (404, 405):
            raise _Absent(f"{where} answered HTTP {status} to {path.split('?')[0]}. Check thehive_url and thehive_api.")
        if status != 200:
            raise TheHiveError(
                f"{where} answered HTTP {status}. Check that TheHive is up, then run the responder again."
            )
        try:
            page = answer.json()
        except ValueError:
            page = None
        if not isinstance(page, list):
            raise TheHiveError(
                f"{where} did not answer with a list of observables. Check that thehive_url points at TheHive."
            )
        return page


def _shown(url: str) -> str:
    """The URL without any user name or password an admin may have written into it."""
    parts = urlsplit(url)
    return (
        parts._replace(netloc=parts.hostname + (f":{parts.port}" if parts.port else "")).geturl()
        if parts.hostname
        else url
    )
