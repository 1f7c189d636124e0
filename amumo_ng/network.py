"""Fail-fast reachability checks for code that fetches weights or data from a hub.

Hub clients (huggingface_hub, open_clip's URL downloader, ``datasets``) retry for tens of
seconds before giving up when there is no network. Loaders ask :func:`offline_reason` first,
so an offline machine gets a clear error within seconds instead.

A bare TCP connect is not proof of being online: an intercepting proxy accepts any connection.
So the probe sends one HTTP ``HEAD`` to an API address of the hub and only an answer from it
(200, or 401/403 for gated content) counts.
"""
from __future__ import annotations

import os
import threading
from typing import Optional, Sequence
from urllib.parse import urlparse

#: Environment variables that ask for offline mode when set to a true value.
OFFLINE_ENV = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE", "AMUMO_NG_OFFLINE")
DEFAULT_PROBE_TIMEOUT = 2.0
_TRUE = {"1", "ON", "YES", "TRUE"}


def hf_endpoint() -> str:
    """The Hugging Face Hub address (``$HF_ENDPOINT``, default https://huggingface.co), no trailing slash."""
    return (os.environ.get("HF_ENDPOINT") or "https://huggingface.co").rstrip("/")


def offline_env_reason(names: Sequence[str] = OFFLINE_ENV) -> Optional[str]:
    """``"VAR=value is set"`` for the first of ``names`` set to a true value, else None."""
    for var in names:
        value = os.environ.get(var, "")
        if value.strip().upper() in _TRUE:
            return f"{var}={value} is set"
    return None


def url_unreachable_reason(url: str, timeout: float = DEFAULT_PROBE_TIMEOUT, ok_status=(200, 401, 403)) -> Optional[str]:
    """None when a ``HEAD url`` is answered with one of ``ok_status`` within ``timeout`` s, else why not.

    The request runs in a daemon thread joined for at most ``timeout`` + 0.5 s, so this returns
    within that bound whatever DNS does. Proxies from the environment are honoured.
    """
    if not urlparse(url).hostname:
        return f"{url!r} has no host name"
    outcome: list = []

    def probe():
        import urllib.error
        import urllib.request

        try:
            with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout) as reply:
                outcome.append(None if reply.status in ok_status else f"{url} answered HTTP {reply.status}")
        except urllib.error.HTTPError as exc:
            outcome.append(None if exc.code in ok_status else f"{url} answered HTTP {exc.code}")
        except (OSError, ValueError) as exc:  # URLError, timeouts and TLS errors are OSErrors
            outcome.append(f"cannot reach {url} ({getattr(exc, 'reason', exc)})")

    worker = threading.Thread(target=probe, name="amumo-hub-probe", daemon=True)
    worker.start()
    worker.join(timeout + 0.5)
    if not outcome:
        return f"no answer from {url} within {timeout:g} s"
    return outcome[0]


def offline_reason(url: str, timeout: float = DEFAULT_PROBE_TIMEOUT, env: Sequence[str] = OFFLINE_ENV) -> Optional[str]:
    """Why ``url`` cannot be fetched now (offline mode set, or no answer), or None when it can."""
    return offline_env_reason(env) or url_unreachable_reason(url, timeout)


def require_online(url: str, what: str, alternatives: str, error_cls=RuntimeError,
                   timeout: float = DEFAULT_PROBE_TIMEOUT) -> None:
    """Raise ``error_cls("Cannot fetch <what>: <reason>. <alternatives>")`` unless ``url`` answers."""
    reason = offline_reason(url, timeout)
    if reason:
        raise error_cls(f"Cannot fetch {what}: {reason} (offline?). {alternatives}")
