"""What one weekly digest says, as Block Kit for Slack and as plain text (``--dry-run``).

Sections: 今週のヒント (with a button that tries the example), おすすめプロンプト (a button opens
its modal, another lists the library), 先週の活用状況 (anonymized figures with the change from the
week before; hidden below k users), the previous digest's own reach, a guideline reminder and
the message for newcomers. Everything stays within Slack's limits (:func:`check_blocks`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Protocol

from bot.digest.weeks import Week
from bot.library_data import Tip
from bot.messages import message
from bot.prompts.library import LibraryTemplate, category_label

# Slack Block Kit limits (docs.slack.dev, "Blocks" reference).
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_ACTION_ID = 255
MAX_CONTEXT_ELEMENTS = 10
MAX_FALLBACK_TEXT = 40000

ACTION_TRY_TIP = "digest_try_tip"
ACTION_OPEN_TEMPLATE = "digest_open_template"
ACTION_OPEN_LIBRARY = "digest_open_library"
DIGEST_ACTIONS = (ACTION_TRY_TIP, ACTION_OPEN_TEMPLATE, ACTION_OPEN_LIBRARY)


class Figures(Protocol):
    """The fields of ``bot.reports.figures.PeriodFigures`` the digest shows."""

    active_users: int
    staff_share: float | None
    turns: int
    threads: int
    top_categories: list[tuple[str, str, int]]
    hours_saved_self: float
    hours_saved_estimated: float
    satisfaction: float | None
    feedback_count: int


@dataclass(frozen=True)
class DigestEffect:
    """How far one digest reached: button clicks and runs of its featured template in the
    seven days after it was posted (pseudonymous counts only)."""

    week: Week
    issued: date
    clicks: int
    clickers: int
    featured_id: str | None
    featured_title: str | None
    featured_uses: int


@dataclass(frozen=True)
class Digest:
    """One workspace's digest for one ISO week."""

    tenant: str
    week: Week
    issued: date
    tip: Tip | None
    featured: LibraryTemplate | None
    last_week: Figures | None
    week_before: Figures | None
    k: int
    effect: DigestEffect | None = None
    lang: str = "ja"

    # -- values the sections share -----------------------------------------------------------

    @property
    def period(self) -> tuple[date, date]:
        """Monday and Sunday of the week the figures are about."""
        monday = date.fromisocalendar(self.week.year, self.week.week, 1) - timedelta(days=7)
        return monday, monday + timedelta(days=6)

    def _m(self, key: str, **values: object) -> str:
        return message(key, self.lang, **values)

    def _date(self, day: date) -> str:
        return self._m("digest_date", month=day.month, day=day.day, year=day.year)

    def title(self) -> str:
        """The header: 窓口 週刊ダイジェスト 2025年11月24日号."""
        return self._m("digest_title", date=self._date(self.issued), year=self.issued.year)

    def button_value(self, item: str = "") -> str:
        """What a digest button carries: the week (for the click record) and an item id."""
        return f"{self.week}|{item}"

    # -- Block Kit -------------------------------------------------------------------------

    def blocks(self) -> list[dict[str, Any]]:
        """The digest as Block Kit blocks (valid per :func:`check_blocks`)."""
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": _plain(_cut(self.title(), MAX_HEADER_TEXT))}
        ]
        if self.tip is not None:
            blocks.append(_section(self._tip_mrkdwn()))
            blocks.append(
                _actions(
                    "digest_tip_actions",
                    [
                        _button(
                            self._m("digest_try_tip"),
                            ACTION_TRY_TIP,
                            self.button_value(self.tip.id),
                        )
                    ],
                )
            )
            blocks.append({"type": "divider"})
        if self.featured is not None:
            blocks.append(_section(self._featured_mrkdwn()))
            blocks.append(
                _actions(
                    "digest_template_actions",
                    [
                        _button(
                            self._m("digest_use_template"),
                            ACTION_OPEN_TEMPLATE,
                            self.button_value(self.featured.id),
                            style="primary",
                        ),
                        _button(
                            self._m("digest_open_library"),
                            ACTION_OPEN_LIBRARY,
                            self.button_value(),
                        ),
                    ],
                )
            )
            blocks.append({"type": "divider"})
        blocks.append(_section(self._figures_mrkdwn()))
        effect = self._effect_line()
        if effect:
            blocks.append(_context([effect]))
        blocks.append({"type": "divider"})
        blocks.append(_context([self._m("digest_guideline")]))
        blocks.append(_section(self._m("digest_newcomers")))
        return blocks

    def fallback(self) -> str:
        """The notification text (what a phone shows and screen readers read first)."""
        parts = [self.title()]
        if self.tip is not None:
            parts.append(self._m("digest_tip_heading", title=self.tip.title))
        if self.featured is not None:
            parts.append(self._m("digest_featured_heading", title=self.featured.template.title))
        return _cut(" / ".join(parts), MAX_FALLBACK_TEXT)

    # -- plain text ------------------------------------------------------------------------

    def text(self) -> str:
        """The whole digest as plain text (``madoguchi digest --dry-run``)."""
        lines = [self.title(), "=" * 40]
        if self.tip is not None:
            lines += [
                self._m("digest_tip_heading", title=self.tip.title),
                self.tip.body,
                self._m("digest_example"),
                *("  " + line for line in self.tip.example.splitlines()),
                "",
            ]
        if self.featured is not None:
            lines += [self._featured_plain(), ""]
        lines += [_unmark(self._figures_mrkdwn()), ""]
        effect = self._effect_line()
        if effect:
            lines += [_unmark(effect), ""]
        lines += [_unmark(self._m("digest_guideline")), _unmark(self._m("digest_newcomers"))]
        return "\n".join(lines).rstrip() + "\n"

    # -- sections --------------------------------------------------------------------------

    def _tip_mrkdwn(self) -> str:
        assert self.tip is not None
        head = "*" + _esc(self._m("digest_tip_heading", title=self.tip.title)) + "*"
        example = _esc(self.tip.example).replace("```", "'''")
        text = f"{head}\n{_esc(self.tip.body)}\n{self._m('digest_example')}\n```{example}```"
        if len(text) > MAX_SECTION_TEXT:
            # Keep the fence closed when an unusually long tip has to be cut.
            text = _cut(text[: MAX_SECTION_TEXT - 4], MAX_SECTION_TEXT - 4) + "```"
        return text

    def _featured_mrkdwn(self) -> str:
        assert self.featured is not None
        t = self.featured.template
        head = "*" + _esc(self._m("digest_featured_heading", title=t.title)) + "*"
        label = category_label(t.category, self.lang)
        lines = [f"{head}（{_esc(label)}）" if self.lang == "ja" else f"{head} ({_esc(label)})"]
        lines.append(_esc(t.description))
        lines.append(self._stats_line(self.featured))
        return _cut("\n".join(line for line in lines if line), MAX_SECTION_TEXT)

    def _featured_plain(self) -> str:
        assert self.featured is not None
        t = self.featured.template
        label = category_label(t.category, self.lang)
        return "\n".join(
            line
            for line in (
                self._m("digest_featured_heading", title=t.title) + f"（{label}）",
                t.description,
                self._stats_line(self.featured),
            )
            if line
        )

    def _stats_line(self, item: LibraryTemplate) -> str:
        parts = []
        if item.uses:
            parts.append(self._m("library_uses", n=item.uses))
        if item.rating is not None:
            parts.append(self._m("library_rating", pct=round(item.rating * 100)))
        if item.source == "staff":
            parts.append(self._m("library_staff_made"))
        return "・".join(parts)

    def _figures_mrkdwn(self) -> str:
        monday, sunday = self.period
        head = (
            "*"
            + self._m("digest_figures_heading", start=self._date(monday), end=self._date(sunday))
            + "*"
        )
        now = self.last_week
        if now is None:
            return f"{head}\n{self._m('digest_figures_missing')}"
        if now.active_users == 0:
            return f"{head}\n{self._m('digest_figures_none')}"
        if now.active_users < self.k:
            return f"{head}\n{self._m('digest_figures_hidden', k=self.k)}"
        before = self.week_before
        # A change against a week below k would reveal that week's small numbers: leave it out.
        compare = before is not None and before.active_users >= self.k
        lines = []
        users = self._m("digest_users", n=now.active_users)
        if now.staff_share is not None:
            users += self._m("digest_share", pct=f"{now.staff_share * 100:.1f}")
        if compare:
            assert before is not None
            users += self._m(
                "digest_change",
                change=_signed(now.active_users - before.active_users, self._m("unit_people")),
            )
        lines.append(users)
        turns = self._m("digest_turns", n=now.turns, threads=now.threads)
        if compare:
            assert before is not None
            turns += self._m(
                "digest_change", change=_percent(now.turns, before.turns, self._m("unit_times"))
            )
        lines.append(turns)
        top = [(cid, label, n) for cid, label, n in now.top_categories if n > 0][:3]
        if top:
            names = " / ".join(
                self._m(
                    "digest_category",
                    label=label if self.lang == "ja" else category_label(cid, "en"),
                    n=n,
                )
                for cid, label, n in top
            )
            lines.append(self._m("digest_top_categories", names=names))
        hours = self._m(
            "digest_hours",
            estimated=f"{now.hours_saved_estimated:.1f}",
            self_reported=f"{now.hours_saved_self:.1f}",
        )
        if compare:
            assert before is not None
            hours += self._m(
                "digest_change",
                change=_signed_float(
                    now.hours_saved_estimated - before.hours_saved_estimated, self._m("unit_hours")
                ),
            )
        lines.append(hours)
        if now.satisfaction is not None:
            sat = self._m(
                "digest_satisfaction", pct=round(now.satisfaction * 100), n=now.feedback_count
            )
            if compare and before is not None and before.satisfaction is not None:
                points = round(now.satisfaction * 100) - round(before.satisfaction * 100)
                sat += self._m("digest_change", change=_signed(points, self._m("unit_points")))
            lines.append(sat)
        else:
            lines.append(self._m("digest_satisfaction_none"))
        return _cut(head + "\n" + "\n".join("• " + line for line in lines), MAX_SECTION_TEXT)

    def _effect_line(self) -> str:
        effect = self.effect
        if effect is None:
            return ""
        text = self._m(
            "digest_effect_clicks",
            date=self._date(effect.issued),
            clicks=effect.clicks,
            people=effect.clickers,
        )
        if effect.featured_title:
            text += self._m(
                "digest_effect_featured", title=_esc(effect.featured_title), n=effect.featured_uses
            )
        return text


# --------------------------------------------------------------------------- Block Kit checks


def check_blocks(blocks: list[dict[str, Any]], fallback: str = "") -> list[str]:
    """Problems Slack would reject this message for (empty when it is valid)."""
    problems: list[str] = []
    if len(blocks) > MAX_BLOCKS:
        problems.append(f"{len(blocks)} blocks > {MAX_BLOCKS}")
    if len(fallback) > MAX_FALLBACK_TEXT:
        problems.append("fallback text too long")
    ids = [b["block_id"] for b in blocks if "block_id" in b]
    if len(ids) != len(set(ids)):
        problems.append("duplicate block_id")
    for i, block in enumerate(blocks):
        kind = block.get("type")
        if kind == "header" and len(block["text"]["text"]) > MAX_HEADER_TEXT:
            problems.append(f"block {i}: header too long")
        if kind == "section":
            text = block.get("text", {}).get("text", "")
            if not text or len(text) > MAX_SECTION_TEXT:
                problems.append(f"block {i}: section text length {len(text)}")
        if kind == "context":
            elements = block.get("elements", [])
            if not elements or len(elements) > MAX_CONTEXT_ELEMENTS:
                problems.append(f"block {i}: {len(elements)} context elements")
            for element in elements:
                if len(element.get("text", "")) > MAX_SECTION_TEXT:
                    problems.append(f"block {i}: context text too long")
        if kind == "actions":
            elements = block.get("elements", [])
            if not elements or len(elements) > 25:
                problems.append(f"block {i}: {len(elements)} actions")
            for element in elements:
                if len(element["text"]["text"]) > MAX_BUTTON_TEXT:
                    problems.append(f"block {i}: button text too long")
                if len(element.get("value", "")) > MAX_BUTTON_VALUE:
                    problems.append(f"block {i}: button value too long")
                if len(element["action_id"]) > MAX_ACTION_ID:
                    problems.append(f"block {i}: action_id too long")
    return problems


# --------------------------------------------------------------------------- helpers


def _esc(text: str) -> str:
    """Escape the characters Slack reserves in mrkdwn."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _unmark(text: str) -> str:
    """mrkdwn → plain text for the terminal: no bold stars, no entities."""
    return text.replace("*", "").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _cut(text, MAX_SECTION_TEXT)}}


def _context(texts: list[str]) -> dict[str, Any]:
    return {
        "type": "context",
        "elements": [
            {"type": "mrkdwn", "text": _cut(t, MAX_SECTION_TEXT)}
            for t in texts[:MAX_CONTEXT_ELEMENTS]
        ],
    }


def _actions(block_id: str, buttons: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "actions", "block_id": block_id, "elements": buttons}


def _button(text: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": _plain(_cut(text, MAX_BUTTON_TEXT)),
        "action_id": action_id,
        "value": value[:MAX_BUTTON_VALUE],
    }
    if style:
        button["style"] = style
    return button


def _signed(value: int, unit: str) -> str:
    sign = "+" if value > 0 else ("±" if value == 0 else "−")
    return f"{sign}{abs(value)}{unit}"


def _signed_float(value: float, unit: str) -> str:
    rounded = round(value, 1)
    sign = "+" if rounded > 0 else ("±" if rounded == 0 else "−")
    return f"{sign}{abs(rounded):.1f}{unit}"


def _percent(now: int, before: int, unit: str) -> str:
    if before == 0:
        return _signed(now, unit)  # no base for a percentage: show the count instead
    return _signed(round((now - before) * 100 / before), "%")
