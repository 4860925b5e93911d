"""Locate the data files shipped in config/ (installed as the package madoguchi_config)."""

from importlib import resources
from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parent.parent / "config"


def config_dir() -> Path:
    """Return the directory holding the shipped configuration data.

    In a checkout (and an editable install) that is the repository's ``config/``; a normal
    install carries the same files as the package ``madoguchi_config``.
    """
    if (_CHECKOUT / "models.yaml").is_file():
        return _CHECKOUT
    return Path(str(resources.files("madoguchi_config")))


def config_path(name: str) -> Path:
    """Return the path of one shipped configuration file, e.g. ``models.yaml``."""
    return config_dir() / name
