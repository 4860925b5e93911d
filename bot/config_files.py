"""Locate the data files shipped in config/ (installed as the package madoguchi_config)."""

from importlib import resources
from pathlib import Path


def config_dir() -> Path:
    """Return the directory holding the shipped configuration data."""
    try:
        return Path(str(resources.files("madoguchi_config")))
    except ModuleNotFoundError:
        return Path(__file__).resolve().parent.parent / "config"


def config_path(name: str) -> Path:
    """Return the path of one shipped configuration file, e.g. ``models.yaml``."""
    return config_dir() / name
