"""Google's items of the configuration: the Gmail API, and the service account's key it signs its token request with."""

from __future__ import annotations

from feedback.items import WHERE, ConfigError, Items
from feedback.reach import Reach
from feedback.secret_forms import without_secrets
from feedback.shapes import shape

# Without importing typing, which a plain job never needs (docs/performance.md).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from feedback.google.token import ServiceAccount

GMAIL_URL = "https://gmail.googleapis.com"


@shape
class GmailSettings:
    service_account: ServiceAccount  # read from its JSON key, private key loaded: a secret (feedback/redaction.py)
    url: str
    reach: Reach

    __repr__ = without_secrets


def gmail_settings(items: Items, reach: Reach) -> GmailSettings:
    """The Gmail API, and the service account's key read and checked by feedback/google/token.py (only Gmail jobs
    load it and cryptography)."""
    from feedback.google.token import read_key

    key = items.text("gmail_service_account", secret=True)
    if not key:
        raise ConfigError(
            "delivery is 'gmail' but gmail_service_account is empty: paste there the service account's JSON key,"
            f" as Google Cloud hands it out. {WHERE}"
        )
    return GmailSettings(read_key(key), items.api_url("gmail_url", GMAIL_URL), reach)
