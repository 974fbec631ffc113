"""Microsoft's items of the configuration: Microsoft Graph, and the OAuth2 client credentials that Graph and
SMTP's OAuth2 login share (Entra ID's client-credentials grant).
"""

from __future__ import annotations

from feedback.items import WHERE, ConfigError, Items, is_url, refuse_cleartext
from feedback.reach import Reach
from feedback.secret_forms import without_secrets
from feedback.shapes import shape

# Without importing typing, which a plain job never needs (docs/performance.md).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from feedback.microsoft.certificate import ClientCertificate

# The shipped default of oauth_scope, which Cortex pre-fills into saved configurations: SMTP's, never Graph's.
OAUTH_SCOPE = "https://outlook.office365.com/.default"
GRAPH_URL = "https://graph.microsoft.com"


@shape
class OAuthSettings:
    token_url: str
    client_id: str
    client_secret: str  # empty with a certificate
    client_certificate: ClientCertificate | None  # the recommended credential (feedback/microsoft/certificate.py)
    scope: str
    reach: Reach  # its token endpoint is reached over HTTP, through Cortex's proxies

    __repr__ = without_secrets


@shape
class GraphSettings:
    url: str
    oauth: OAuthSettings
    reach: Reach


def graph_settings(items: Items, reach: Reach) -> GraphSettings:
    """Microsoft Graph with a token from Entra ID's client-credentials grant, for the cloud of graph_url."""
    url = items.api_url("graph_url", GRAPH_URL)
    # The shipped default is Outlook's, pre-filled by Cortex into saved configurations: a Graph job never asks for it.
    scope = items.text("oauth_scope")
    if not scope or scope == OAUTH_SCOPE:
        scope = f"{url}/.default"
    oauth = client_credentials(
        items,
        reach,
        scope,
        "delivery is 'graph'",
        "Microsoft Graph takes a token from Entra ID's client-credentials grant: the tenant's token endpoint, and"
        " the client ID and certificate (or secret) of the app that has the Mail.Send permission (docs/graph.md).",
    )
    return GraphSettings(url, oauth, reach)


def client_credentials(
    items: Items, reach: Reach, scope: str, because: str, why: str, **also: str | None
) -> OAuthSettings:
    """The token endpoint, client ID and one credential (and the items in `also`), or an error naming what is wrong.

    The credential is a certificate with its key, read and checked here, or a client secret: one, not both.
    """
    secret = items.text("oauth_client_secret", secret=True)
    certificate = items.text("oauth_client_certificate", secret=True)
    if secret and certificate:
        raise ConfigError(
            "oauth_client_certificate and oauth_client_secret are both set: the app proves who it is with one of"
            f" them. Keep the certificate (Microsoft's recommended choice) and clear oauth_client_secret. {WHERE}"
        )
    if secret and "-----BEGIN" in secret:  # sent as it stands, it would hand the key to the token endpoint
        raise ConfigError(
            "oauth_client_secret holds a PEM block: a certificate and its key go in oauth_client_certificate, and"
            f" oauth_client_secret holds a client secret's Value alone. {WHERE}"
        )
    needed = {
        **also,
        "oauth_token_url": items.text("oauth_token_url"),
        "oauth_client_id": items.text("oauth_client_id"),
        "oauth_client_certificate (or oauth_client_secret)": secret or certificate,
    }
    missing = [name for name, value in needed.items() if not value]
    if missing:
        raise ConfigError(
            f"{because} but {' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} empty: {why} {WHERE}"
        )
    refuse_cleartext("oauth_token_url", needed["oauth_token_url"], "the client secret")
    if not is_url(needed["oauth_token_url"], ("https",)):
        raise ConfigError(
            "oauth_token_url must be an https URL like"
            f" https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token. {WHERE}"
        )
    return OAuthSettings(
        token_url=needed["oauth_token_url"],
        client_id=needed["oauth_client_id"],
        client_secret=secret or "",
        client_certificate=_certificate(certificate) if certificate else None,
        scope=scope,
        reach=reach,
    )


def _certificate(text: str) -> ClientCertificate:
    """Loaded here, by the jobs with a certificate alone: the others never load cryptography."""
    from feedback.microsoft.certificate import read_certificate

    return read_certificate(text)
