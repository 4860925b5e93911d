"""The prompt library (プロンプト集): shipped templates plus approved staff submissions, with use
counts and 👍 rates, search, and the submission → admin approval flow (tips use the same flow).

The shipped templates (``config/prompts/<lang>.yaml``) and tips (``config/tips/<lang>.yaml``)
are the seed; staff submissions live in ``library_items`` per workspace, pending until an admin
approves them. A template run is recorded in ``prompt_uses`` (keyed pseudonym, never a user id).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Literal

import structlog
from pydantic import ValidationError
from sqlalchemy import func, select, update

from bot.library_data import FIELD_PATTERN, Template, TemplateField, Tip, load_templates, load_tips
from bot.prompts import search
from bot.storage.db import Database
from bot.storage.library_tables import LibraryItemRow, PromptUseRow
from bot.usage import pseudonym

log = structlog.get_logger("madoguchi.prompts")

Kind = Literal["template", "tip"]
RatingsLookup = Callable[[str], Awaitable[dict[str, tuple[int, int]]]]
"""tenant → {template id: (👍 count, 👎 count)} (from the oversight engineer's feedback data)."""

# Slack modal limits the library's items must respect (a template's title is the modal title).
MAX_TITLE = 24
MAX_DESCRIPTION = 200
MAX_BODY = 3000
MAX_FIELDS = 10
MAX_TIP_TEXT = 1000

# Field names that suggest a long answer get a multi-line input in the template modal.
_LONG_FIELD_HINTS = (
    "内容",
    "本文",
    "文章",
    "資料",
    "原稿",
    "メモ",
    "要点",
    "詳細",
    "説明",
    "データ",
)


def utcnow() -> datetime:
    """The current time, timezone-aware (UTC)."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class LibraryTemplate:
    """A template as the library shows it: the template plus where it came from and its figures."""

    template: Template
    source: Literal["shipped", "staff"]
    order: int
    added_at: datetime | None = None
    uses: int = 0
    up: int = 0
    down: int = 0

    @property
    def id(self) -> str:
        """The template id (stable; recorded on usage events)."""
        return self.template.id

    @property
    def rating(self) -> float | None:
        """Share of 👍 among 👍/👎 on answers from this template (None without feedback)."""
        total = self.up + self.down
        return self.up / total if total else None


@dataclass(frozen=True)
class LibraryItem:
    """A staff submission (template or tip) and its review state."""

    id: int
    tenant: str
    kind: Kind
    slug: str
    status: str
    author: str | None
    created_at: datetime
    item: Template | Tip

    @property
    def title(self) -> str:
        """The submitted title."""
        return self.item.title


class SubmissionError(ValueError):
    """A submission that cannot be accepted; ``errors`` maps an input name to a Japanese reason."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class PromptLibrary:
    """Templates and tips of one deployment, per workspace (tenant)."""

    def __init__(
        self,
        db: Database,
        *,
        pseudonym_key: bytes,
        lang: str = "ja",
        templates: list[Template] | None = None,
        tips: list[Tip] | None = None,
        ratings: RatingsLookup | None = None,
    ) -> None:
        self.db = db
        self.lang = lang
        self._pseudonym_key = pseudonym_key
        self._shipped = templates if templates is not None else _shipped_templates(lang)
        self._shipped_tips = tips if tips is not None else load_tips(_tips_lang(lang))
        self._ratings = ratings

    # -- people ----------------------------------------------------------------------------

    def pseudonym(self, user_id: str) -> str:
        """The keyed pseudonym stored for ``user_id`` (the same one usage events carry)."""
        return pseudonym(user_id, self._pseudonym_key)

    # -- templates -------------------------------------------------------------------------

    async def templates(self, tenant: str) -> list[LibraryTemplate]:
        """Every template of ``tenant`` (shipped + approved), most used first, then file order."""
        items = [LibraryTemplate(t, "shipped", i) for i, t in enumerate(self._shipped)]
        offset = len(items)
        for i, row in enumerate(await self._rows(tenant, "template", "approved")):
            template = _template_of(row)
            if template is not None:
                items.append(LibraryTemplate(template, "staff", offset + i, _aware(row.decided_at)))
        counts = await self.use_counts(tenant)
        ratings = await self._ratings(tenant) if self._ratings else {}
        items = [
            replace(
                item,
                uses=counts.get(item.id, 0),
                up=ratings.get(item.id, (0, 0))[0],
                down=ratings.get(item.id, (0, 0))[1],
            )
            for item in items
        ]
        return sorted(items, key=lambda item: (-item.uses, item.order))

    async def get(self, tenant: str, template_id: str) -> LibraryTemplate | None:
        """One template of ``tenant`` by id (shipped or approved), None if unknown."""
        for item in await self.templates(tenant):
            if item.id == template_id:
                return item
        return None

    async def search(self, tenant: str, query: str) -> list[LibraryTemplate]:
        """Templates matching every word of ``query``; best match first, then most used.

        An empty query lists everything (most used first).
        """
        items = await self.templates(tenant)
        wanted = search.terms(query)
        if not wanted:
            return items
        scored = []
        for item in items:
            t = item.template
            value = search.score(
                wanted,
                {
                    "title": t.title,
                    "category": f"{t.category} {_category_label(t.category)}",
                    "description": t.description,
                    "id": t.id,
                    "body": t.body,
                },
            )
            if value:
                scored.append((value, item))
        scored.sort(key=lambda pair: (-pair[0], -pair[1].uses, pair[1].order))
        return [item for _, item in scored]

    async def record_use(
        self,
        tenant: str,
        template_id: str,
        user_pseudonym: str,
        *,
        source: str = "library",
        at: datetime | None = None,
    ) -> None:
        """Count one run of ``template_id`` (source ``library`` or ``digest``)."""
        async with self.db.session() as session:
            session.add(
                PromptUseRow(
                    tenant=tenant,
                    template_id=template_id,
                    user_pseudonym=user_pseudonym,
                    source=source,
                    used_at=(at or utcnow()).astimezone(UTC),
                )
            )
            await session.commit()

    async def use_counts(
        self,
        tenant: str,
        start: datetime | None = None,
        end: datetime | None = None,
        template_id: str | None = None,
    ) -> dict[str, int]:
        """Runs per template id in ``[start, end)`` (all time by default)."""
        query = (
            select(PromptUseRow.template_id, func.count())
            .where(PromptUseRow.tenant == tenant)
            .group_by(PromptUseRow.template_id)
        )
        # Stored times are UTC (SQLite keeps only the wall time): compare in UTC.
        if start is not None:
            query = query.where(PromptUseRow.used_at >= start.astimezone(UTC))
        if end is not None:
            query = query.where(PromptUseRow.used_at < end.astimezone(UTC))
        if template_id is not None:
            query = query.where(PromptUseRow.template_id == template_id)
        async with self.db.session() as session:
            return {tid: int(n) for tid, n in (await session.execute(query)).all()}

    # -- tips ------------------------------------------------------------------------------

    async def tips(self, tenant: str) -> list[Tip]:
        """Every tip of ``tenant``: the shipped ones in file order, then approved submissions."""
        tips = list(self._shipped_tips)
        for row in await self._rows(tenant, "tip", "approved"):
            try:
                tips.append(Tip.model_validate(json.loads(row.payload)))
            except (ValidationError, ValueError):
                log.warning("library.bad_item", kind="tip", item=row.id)
        return tips

    # -- submissions -----------------------------------------------------------------------

    async def submit_template(
        self,
        tenant: str,
        *,
        title: str,
        category: str,
        description: str,
        body: str,
        author: str | None,
    ) -> LibraryItem:
        """Store a staff template as pending. Raises :class:`SubmissionError` (Japanese reasons
        keyed by input: ``title``, ``category``, ``description``, ``body``)."""
        title, description, body = title.strip(), description.strip(), body.strip()
        errors: dict[str, str] = {}
        if not title:
            errors["title"] = "題名を入力してください。"
        elif len(title) > MAX_TITLE:
            errors["title"] = f"題名は{MAX_TITLE}字以内にしてください。"
        known = {c for c in _category_ids()}
        if category not in known:
            errors["category"] = "用途を選んでください。"
        if not description:
            errors["description"] = "説明を入力してください。"
        elif len(description) > MAX_DESCRIPTION:
            errors["description"] = f"説明は{MAX_DESCRIPTION}字以内にしてください。"
        names: list[str] = []
        for match in FIELD_PATTERN.finditer(body):
            if match.group(1) not in names:
                names.append(match.group(1))
        if not body:
            errors["body"] = "本文を入力してください。"
        elif len(body) > MAX_BODY:
            errors["body"] = f"本文は{MAX_BODY}字以内にしてください。"
        elif len(names) > MAX_FIELDS:
            errors["body"] = f"入力項目（{{{{…}}}}）は{MAX_FIELDS}個までにしてください。"
        elif any(len(n) > 48 for n in names):
            errors["body"] = "入力項目の名前（{{…}}の中）は48字以内にしてください。"
        if errors:
            raise SubmissionError(errors)
        fields = tuple(
            TemplateField(
                name=name,
                label=name,
                multiline=any(hint in name for hint in _LONG_FIELD_HINTS),
            )
            for name in names
        )
        slug = "staff-" + secrets.token_hex(4)
        try:
            template = Template(
                id=slug,
                title=title,
                category=category,
                description=description,
                body=body,
                fields=fields,
                author="staff",
            )
        except ValidationError as exc:
            raise SubmissionError({"body": _first_error(exc)}) from None
        return await self._add(tenant, "template", slug, template, author)

    async def submit_tip(
        self, tenant: str, *, title: str, body: str, example: str, author: str | None
    ) -> LibraryItem:
        """Store a staff tip as pending. Raises :class:`SubmissionError` keyed by input."""
        title, body, example = title.strip(), body.strip(), example.strip()
        errors: dict[str, str] = {}
        if not title:
            errors["title"] = "題名を入力してください。"
        elif len(title) > 60:
            errors["title"] = "題名は60字以内にしてください。"
        if not body:
            errors["body"] = "説明を入力してください。"
        elif len(body) > MAX_TIP_TEXT:
            errors["body"] = f"説明は{MAX_TIP_TEXT}字以内にしてください。"
        if not example:
            errors["example"] = "プロンプトの例を入力してください。"
        elif len(example) > MAX_TIP_TEXT:
            errors["example"] = f"例は{MAX_TIP_TEXT}字以内にしてください。"
        if errors:
            raise SubmissionError(errors)
        slug = "staff-" + secrets.token_hex(4)
        tip = Tip(id=slug, title=title, body=body, example=example, tags=("basics",))
        return await self._add(tenant, "tip", slug, tip, author)

    async def pending(self, tenant: str) -> list[LibraryItem]:
        """Submissions waiting for an admin, oldest first."""
        items = []
        for kind in ("template", "tip"):
            for row in await self._rows(tenant, kind, "pending"):
                item = _item_of(row)
                if item is not None:
                    items.append(item)
        return sorted(items, key=lambda i: (i.created_at, i.id))

    async def item(self, tenant: str, item_id: int) -> LibraryItem | None:
        """One submission of ``tenant`` by its number."""
        async with self.db.session() as session:
            row = await session.get(LibraryItemRow, item_id)
        if row is None or row.tenant != tenant:
            return None
        return _item_of(row)

    async def decide(self, tenant: str, item_id: int, approve: bool) -> LibraryItem | None:
        """Approve or reject a pending submission. None when it is not pending (any more):
        two admins clicking at once decide it once."""
        status = "approved" if approve else "rejected"
        async with self.db.session() as session, session.begin():
            result = await session.execute(
                update(LibraryItemRow)
                .where(
                    LibraryItemRow.id == item_id,
                    LibraryItemRow.tenant == tenant,
                    LibraryItemRow.status == "pending",
                )
                .values(status=status, decided_at=utcnow())
            )
            if result.rowcount != 1:
                return None
        return await self.item(tenant, item_id)

    # -- internals -------------------------------------------------------------------------

    async def _add(
        self, tenant: str, kind: Kind, slug: str, item: Template | Tip, author: str | None
    ) -> LibraryItem:
        row = LibraryItemRow(
            tenant=tenant,
            kind=kind,
            slug=slug,
            payload=json.dumps(item.model_dump(mode="json"), ensure_ascii=False),
            status="pending",
            author=author,
            created_at=utcnow(),
        )
        async with self.db.session() as session:
            session.add(row)
            await session.commit()
        log.info("library.submitted", kind=kind, item=row.id)
        return LibraryItem(row.id, tenant, kind, slug, "pending", author, row.created_at, item)

    async def _rows(self, tenant: str, kind: str, status: str) -> list[LibraryItemRow]:
        async with self.db.session() as session:
            rows = await session.scalars(
                select(LibraryItemRow)
                .where(
                    LibraryItemRow.tenant == tenant,
                    LibraryItemRow.kind == kind,
                    LibraryItemRow.status == status,
                )
                .order_by(LibraryItemRow.id)
            )
            return list(rows)


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite returns stored (UTC) times without their zone; say it is UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def _shipped_templates(lang: str) -> list[Template]:
    try:
        return load_templates(lang)
    except ValueError:
        # Templates ship in Japanese only; an English UI still offers them.
        return load_templates("ja")


def _tips_lang(lang: str) -> str:
    return lang if lang in ("ja", "en") else "ja"


def _template_of(row: LibraryItemRow) -> Template | None:
    try:
        return Template.model_validate(json.loads(row.payload))
    except (ValidationError, ValueError):
        log.warning("library.bad_item", kind="template", item=row.id)
        return None


def _item_of(row: LibraryItemRow) -> LibraryItem | None:
    try:
        payload = json.loads(row.payload)
        item: Template | Tip = (
            Template.model_validate(payload)
            if row.kind == "template"
            else Tip.model_validate(payload)
        )
    except (ValidationError, ValueError):
        log.warning("library.bad_item", kind=row.kind, item=row.id)
        return None
    kind: Kind = "template" if row.kind == "template" else "tip"
    return LibraryItem(
        row.id, row.tenant, kind, row.slug, row.status, row.author, row.created_at, item
    )


def _first_error(exc: ValidationError) -> str:
    message = str(exc.errors()[0].get("msg", "入力内容を確認してください。"))
    return message.removeprefix("Value error, ")


_CATEGORY_CACHE: dict[str, str] = {}


def _category_ids() -> list[str]:
    _load_categories()
    return list(_CATEGORY_CACHE)


def _category_label(category_id: str) -> str:
    _load_categories()
    return _CATEGORY_CACHE.get(category_id, category_id)


def _load_categories() -> None:
    if not _CATEGORY_CACHE:
        from bot.categories import CategoryClassifier

        for category in CategoryClassifier.load().categories():
            _CATEGORY_CACHE[category.id] = category.label


def category_label(category_id: str, lang: str = "ja") -> str:
    """The label of a use category in ``lang`` (Japanese by default)."""
    if lang == "en":
        from bot.categories import CategoryClassifier

        return CategoryClassifier.load().get(category_id).label_en
    return _category_label(category_id)


def category_options() -> list[tuple[str, str]]:
    """(id, Japanese label) of every use category, in file order (for the submission modal)."""
    _load_categories()
    return list(_CATEGORY_CACHE.items())


def feedback_ratings(db: Database) -> RatingsLookup:
    """👍/👎 per template from the oversight tables: the asker's own rating of answers to turns
    that were filled from a template (the same rule the reports use for satisfaction)."""

    async def lookup(tenant: str) -> dict[str, tuple[int, int]]:
        from bot.storage.usage_tables import UsageEventRow as E
        from bot.storage.usage_tables import UsageFeedbackRow as F

        query = (
            select(E.template_id, F.rating, func.count())
            .join(F, (F.event_id == E.id) & (F.user_pseudonym == E.user_pseudonym))
            .where(E.tenant == tenant, E.template_id.is_not(None), F.rating.is_not(None))
            .group_by(E.template_id, F.rating)
        )
        out: dict[str, tuple[int, int]] = {}
        async with db.session() as session:
            for template_id, rating, n in (await session.execute(query)).all():
                up, down = out.get(template_id, (0, 0))
                out[template_id] = (up + int(n), down) if rating > 0 else (up, down + int(n))
        return out

    return lookup
