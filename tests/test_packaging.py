"""A normal (non-editable) install carries every package and the data in config/."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_code_package_is_listed_in_pyproject() -> None:
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(path.parent.relative_to(ROOT).parts)
        for top in ("bot", "handlers")
        for path in (ROOT / top).rglob("__init__.py")
    }
    assert found <= listed, f"add to pyproject.toml packages: {sorted(found - listed)}"


def test_wheel_contains_config_data_and_tokenizers(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        timeout=300,
        capture_output=True,
    )
    [wheel] = tmp_path.glob("madoguchi-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "madoguchi_config/models.yaml" in names
    assert "madoguchi_config/slack-manifest.yaml" in names
    assert "bot/data/tiktoken/o200k_base.tiktoken" in names
    assert "bot/migrations/versions/0001_initial.py" in names
    assert "bot/migrations/env.py" in names
    assert "handlers/events.py" in names
