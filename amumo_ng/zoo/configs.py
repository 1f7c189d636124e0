"""The toy architectures' open_clip configs live in :mod:`amumo_ng.models.configs`; re-exported here."""
from ..models.configs import CONFIG_DIR, MICRO_MODEL, TOY_MODEL, register_toy_configs, toy_config  # noqa: F401
