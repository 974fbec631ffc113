"""How the job reaches the parties outside it: whom TLS trusts, Cortex's proxies, the wait for one answer.

Cortex's `cacerts`, `proxy` (or `proxy_http`/`proxy_https`) and the responder's `smtp_timeout` concern
every party the job speaks to: they are read once, into one `Reach`, and that one value is handed to
the way out, its token endpoint, the mailbox-language look-ups and TheHive. SMTP takes the trust and
the wait, never the proxies: Cortex's proxies carry HTTP, and SMTP never went through them.
"""

from __future__ import annotations

import os

from feedback.items import WHERE, ConfigError, Items
from feedback.secret_forms import pem_private_key
from feedback.shapes import shape

# Without importing typing, which a plain job never needs (docs/performance.md).
TYPE_CHECKING = False
if TYPE_CHECKING:
    import ssl


@shape
class Reach:
    cacerts: str | None  # PEM text of the CAs trusted beside the system's store (feedback/trust.py)
    proxies: dict[str, str]  # Cortex's, for HTTP: {"http": URL, "https": URL}, either left out when unset
    timeout: float  # the longest wait for one answer, in seconds (smtp_timeout, named before other parties came)

    def context(self) -> ssl.SSLContext:
        """Whom TLS trusts, made once per job (feedback/trust.py): loaded here, by the jobs that reach out only."""
        from feedback.trust import trust_context

        return trust_context(self.cacerts)


def read_reach(items: Items) -> Reach:
    cacerts = items.text("cacerts", secret=True)
    if cacerts and pem_private_key(cacerts):
        # OpenSSL would pass over the key, and the job work: the key would stay where whoever reads the setting sees it.
        raise ConfigError(
            "The cacerts setting holds a private key: it takes the certificates of the CAs alone. Remove the key (from"
            " a file that holds a server's certificate and key, paste the certificates only), and replace that key if"
            f" others can read Cortex's settings. {WHERE}"
        )
    return Reach(
        cacerts=cacerts,
        proxies=items.proxies(),
        timeout=items.number("smtp_timeout", 30, low=1, high=600),
    )


def in_container() -> bool:
    """Whether the job runs in a container (Cortex's docker or Kubernetes runner), where this machine's names are the
    container's own: Docker's and podman's marks, or the address of the API every Kubernetes pod is given."""
    return (
        os.path.exists("/.dockerenv") or os.path.exists("/run/.containerenv") or "KUBERNETES_SERVICE_HOST" in os.environ
    )
