"""Locate the data files shipped in config/ (installed as the package madoguchi_config)."""

import importlib.util
from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parent.parent / "config"


def config_dir() -> Path:
    """Return the directory holding the shipped configuration data.

    In a checkout (and an editable install) that is the repository's ``config/``; a normal
    install carries the same files as the package ``madoguchi_config``.
    """
    if (_CHECKOUT / "models.yaml").is_file():
        return _CHECKOUT
    # A data-only package has no __init__.py: importlib.resources would hand back a
    # MultiplexedPath, so ask the import system for the directory itself.
    spec = importlib.util.find_spec("madoguchi_config")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("madoguchi_config is not installed and config/ is missing")
    return Path(next(iter(spec.submodule_search_locations)))


def config_path(name: str) -> Path:
    """Return the path of one shipped configuration file, e.g. ``models.yaml``."""
    return config_dir() / name
