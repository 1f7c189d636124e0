"""Fail-fast reachability checks for code that fetches weights or data from a hub.

Hub clients (huggingface_hub, open_clip's URL downloader) retry for about a minute
before giving up when there is no network. Loaders call :func:`require_reachable`
first so an offline machine gets a clear error within seconds instead.
"""
from __future__ import annotations

import os
import socket

_OFFLINE_ENV = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE", "AMUMO_NG_OFFLINE")


def offline_requested() -> bool:
    """True when an environment variable asks for offline mode (HF_HUB_OFFLINE=1 etc.)."""
    return any(os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on") for name in _OFFLINE_ENV)


def host_reachable(host: str, port: int = 443, timeout: float = 2.0) -> bool:
    """Whether a TCP connection to ``host:port`` opens within ``timeout`` seconds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require_reachable(host: str, what: str, alternatives: str, error_cls=RuntimeError, timeout: float = 2.0) -> None:
    """Raise ``error_cls`` with a helpful message unless ``host`` can be reached.

    Parameters
    ----------
    host : str
        The hub's host name, e.g. ``"huggingface.co"``.
    what : str
        What was being fetched, for the message (e.g. ``"open_clip weights 'ViT-B-32/openai'"``).
    alternatives : str
        What works offline, appended to the message.
    """
    if offline_requested():
        reason = "offline mode is set in the environment"
    elif not host_reachable(host, timeout=timeout):
        reason = f"{host} cannot be reached (no network?)"
    else:
        return
    raise error_cls(f"Cannot fetch {what}: {reason}. {alternatives}")
