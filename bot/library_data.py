"""Load and validate the shipped tips (``config/tips/<lang>.yaml``) and prompt templates
(``config/prompts/<lang>.yaml``).

Tips feed the weekly digest (今週のヒント); templates are the seed of the prompt library
(プロンプト集). A template body names its fields as ``{{宛先}}``; :meth:`Template.render` fills
them in one pass, so a value that itself contains ``{{…}}`` is never expanded again.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.config_files import config_path

FIELD_PATTERN = re.compile(r"\{\{\s*([^{}\s]+)\s*\}\}")
"""A field reference in a template body: ``{{name}}`` (spaces inside the braces allowed)."""

_SLUG = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"


class Tip(BaseModel):
    """One prompting tip: a title, a short explanation and an example prompt."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=_SLUG)
    title: str = Field(min_length=1)
    body: str = Field(min_length=1)
    example: str = Field(min_length=1)
    tags: tuple[str, ...] = ()


class TemplateField(BaseModel):
    """One input field of a template, as shown in the template's modal."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, pattern=r"^[^{}\s]+$")
    label: str = Field(min_length=1)
    placeholder: str = ""
    required: bool = True
    default: str | None = None
    multiline: bool = False


class Template(BaseModel):
    """A prompt template with ``{{field}}`` placeholders, declared in ``fields``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=_SLUG)
    title: str = Field(min_length=1)
    category: str = Field(min_length=1)
    description: str = Field(min_length=1)
    body: str = Field(min_length=1)
    fields: tuple[TemplateField, ...] = ()
    author: str = "madoguchi"

    @model_validator(mode="after")
    def _fields_match_body(self) -> Template:
        declared = [f.name for f in self.fields]
        duplicates = sorted({n for n in declared if declared.count(n) > 1})
        if duplicates:
            raise ValueError(f"template {self.id!r}: fields declared twice: {duplicates}")
        used = set(self.field_names())
        undeclared = sorted(used - set(declared))
        if undeclared:
            raise ValueError(f"template {self.id!r}: body uses undeclared fields {undeclared}")
        unused = sorted(set(declared) - used)
        if unused:
            raise ValueError(f"template {self.id!r}: declared fields not in body {unused}")
        return self

    def field_names(self) -> list[str]:
        """Names of the fields used in the body, in order of first appearance."""
        names: list[str] = []
        for match in FIELD_PATTERN.finditer(self.body):
            if match.group(1) not in names:
                names.append(match.group(1))
        return names

    def render(self, values: dict[str, str]) -> str:
        """Fill the body with ``values``; blank values fall back to the field's default.

        A required field without a value or default raises ``ValueError`` with a Japanese
        message naming it; an optional one becomes empty. Unknown keys are ignored.
        """
        by_name = {f.name: f for f in self.fields}
        filled: dict[str, str] = {}
        missing: list[TemplateField] = []
        for name in self.field_names():
            spec = by_name[name]
            value = values.get(name)
            if value is None or not str(value).strip():
                value = spec.default if spec.default is not None else ""
            if not str(value).strip() and spec.required:
                missing.append(spec)
            filled[name] = str(value)
        if missing:
            names = "".join(f"「{f.label}」" for f in missing)
            raise ValueError(f"必須項目{names}が入力されていません。（テンプレート: {self.title}）")
        return FIELD_PATTERN.sub(lambda m: filled[m.group(1)], self.body)


class _TipsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = 1
    tips: list[Tip]


class _TemplatesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = 1
    templates: list[Template]


def load_tips(lang: str = "ja", path: Path | None = None) -> list[Tip]:
    """Load the tips for ``lang`` (default: ``config/tips/<lang>.yaml``), validated.

    Raises ``ValueError`` on an unknown language, a schema error or duplicate ids.
    """
    data = _read_yaml(path or _library_path("tips", lang))
    tips = _TipsFile.model_validate(data).tips
    _check_unique("tip", [t.id for t in tips])
    return tips


def load_templates(
    lang: str = "ja",
    path: Path | None = None,
    categories: set[str] | None = None,
) -> list[Template]:
    """Load the prompt templates for ``lang`` (default: ``config/prompts/<lang>.yaml``).

    Every template's category must be an id of ``categories.yaml`` (or of ``categories`` when
    given). Raises ``ValueError`` on an unknown language, a schema error, duplicate ids, fields
    that do not match the body, or an unknown category.
    """
    data = _read_yaml(path or _library_path("prompts", lang))
    templates = _TemplatesFile.model_validate(data).templates
    _check_unique("template", [t.id for t in templates])
    if categories is None:
        from bot.categories import CategoryClassifier

        categories = {c.id for c in CategoryClassifier.load().categories()}
    for template in templates:
        if template.category not in categories:
            raise ValueError(
                f"template {template.id!r}: unknown category {template.category!r}; "
                f"known: {sorted(categories)}"
            )
    return templates


def _library_path(kind: str, lang: str) -> Path:
    if not re.fullmatch(r"[a-z]{2}(?:-[a-z]{2})?", lang):
        raise ValueError(f"invalid language code: {lang!r}")
    path = config_path(f"{kind}/{lang}.yaml")
    if not path.is_file():
        available = sorted(p.stem for p in config_path(kind).glob("*.yaml"))
        raise ValueError(f"no {kind} for language {lang!r}; available: {available}")
    return path


def _read_yaml(path: Path) -> Any:
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


def _check_unique(kind: str, ids: list[str]) -> None:
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"duplicate {kind} ids: {duplicates}")
