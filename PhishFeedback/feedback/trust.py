"""Whom TLS trusts: the system's CAs plus the PEM text in Cortex's `cacerts` setting.

Cortex's `cacerts` is meant for an internal CA; the system store stays trusted beside it, and
certificate and host-name checks stay on for the SMTP server and TheHive alike.
"""

from __future__ import annotations

import ssl

from feedback.settings import WHERE, ConfigError


def trust_context(cacerts: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if cacerts:
        try:
            context.load_verify_locations(cadata=cacerts)
        except (ssl.SSLError, ValueError):
            raise ConfigError(f"The cacerts setting holds no valid PEM certificate. {WHERE}") from None
    return context
