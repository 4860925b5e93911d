"""Small-group protection (k-anonymity) for report breakdowns.

A group (a department, a use category, a model) with fewer than ``k`` distinct users in the
period is not shown on its own: it is merged into 「その他」 together with the groups that are
「その他」 by nature. Reports never list or rank individuals.

Users are counted per pseudonym key (``key_id``): across a key rotation one person has two
pseudonyms, so the safe count for the k test is the largest per-key count (a lower bound of the
real number of people), while headline figures use the plain distinct count.
"""

from __future__ import annotations

from dataclasses import dataclass, field

OTHER = "other"


@dataclass
class Group:
    """One row of a breakdown before protection."""

    key: str
    label: str
    turns: int = 0
    #: Distinct users per pseudonym key id.
    users_by_key: dict[str, int] = field(default_factory=dict)
    #: Additional additive figures (tokens, cost, …).
    sums: dict[str, float] = field(default_factory=dict)

    @property
    def users(self) -> int:
        """Distinct pseudonyms (may count a person twice across a key rotation)."""
        return sum(self.users_by_key.values())

    @property
    def users_at_least(self) -> int:
        """A lower bound of the number of people: the largest count under one key."""
        return max(self.users_by_key.values(), default=0)


@dataclass(frozen=True)
class Row:
    """One row of a protected breakdown."""

    key: str
    label: str
    turns: int
    users: int
    sums: dict[str, float]
    merged: tuple[str, ...] = ()  # keys folded into this row (only for 「その他」)


def protect(
    groups: list[Group],
    k: int,
    *,
    other_key: str = OTHER,
    other_label: str = "その他",
    natural_other: frozenset[str] = frozenset(),
) -> tuple[list[Row], list[str]]:
    """Merge every group with fewer than ``k`` users (and the ``natural_other`` keys) into one
    「その他」 row, placed last; the rest sorted by turns, then label.

    Returns the rows and the keys that went into 「その他」; the caller recounts that row's
    distinct users over those keys (users of several small groups may overlap), see
    :func:`with_other_users`.
    """
    kept: list[Group] = []
    folded: list[Group] = []
    for group in groups:
        if group.key in natural_other or group.key == other_key or group.users_at_least < k:
            folded.append(group)
        else:
            kept.append(group)
    kept.sort(key=lambda g: (-g.turns, g.label))
    rows = [Row(g.key, g.label, g.turns, g.users, dict(g.sums)) for g in kept]
    merged_keys = [g.key for g in folded]
    if folded:
        sums: dict[str, float] = {}
        for group in folded:
            for name, value in group.sums.items():
                sums[name] = sums.get(name, 0) + value
        rows.append(
            Row(
                other_key,
                other_label,
                sum(g.turns for g in folded),
                sum(g.users for g in folded),  # an upper bound until recounted
                sums,
                tuple(merged_keys),
            )
        )
    return rows, merged_keys


def with_other_users(rows: list[Row], users: int) -> list[Row]:
    """``rows`` with the 「その他」 row's user count replaced by the recounted ``users``."""
    if not rows or not rows[-1].merged:
        return rows
    last = rows[-1]
    return [*rows[:-1], Row(last.key, last.label, last.turns, users, last.sums, last.merged)]
