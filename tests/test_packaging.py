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


def test_an_installed_wheel_finds_its_config_without_the_checkout(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True, timeout=300, capture_output=True,
    )
    [wheel] = tmp_path.glob("madoguchi-*.whl")
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    probe = (
        "from bot.config_files import config_path; from bot.catalog import ModelCatalog; "
        "p = config_path('models.yaml'); assert p.is_file(), p; "
        "import bot; assert 'site' in bot.__file__, bot.__file__; "
        "print(ModelCatalog.load('gpt-4o-mini').default.id)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env={"PYTHONPATH": str(site)},
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "gpt-4o-mini"
