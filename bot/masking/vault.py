"""The per-thread placeholder vault: the only place real values are kept.

Within one thread the same value (after normalisation) always gets the same placeholder, across
turns, and different values never share one. Placeholders close with a bracket, so <人名1> is
never a prefix of <人名10>. At rest the vault is sealed with Fernet (AES-128-CBC + HMAC-SHA256).
"""
from __future__ import annotations

import base64
import binascii
import functools
import json
import re
import unicodedata
from collections.abc import Iterator

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from bot.masking.patterns import PLACEHOLDER_LIKE, placeholder_type
from bot.masking.types import PLACEHOLDER_LABELS, EntityType, MaskingError

_FORMAT_VERSION = 1
_HKDF_SALT = b"madoguchi/placeholder-vault/v1"
_HKDF_INFO = b"fernet-key"
_NUMERIC_TYPES = {
    EntityType.PHONE, EntityType.POSTAL_CODE, EntityType.MY_NUMBER, EntityType.BANK_ACCOUNT,
    EntityType.CREDIT_CARD, EntityType.ID_NUMBER,
}
_SPACES = re.compile(r"[\s・･]+")
# Separators people put inside numbers (after NFKC): 090-1234-5678 = 090 1234 5678.
_NUMBER_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―−ー.()〒・]+")


def value_key(value: str, etype: EntityType) -> str:
    """The identity of a value: 090-1234-5678 and ０９０１２３４５６７８ are the same number,
    山田 太郎 and 山田太郎 the same name. Values with the same key share one placeholder, which
    restores the form seen first."""
    norm = unicodedata.normalize("NFKC", value).casefold()
    if etype in _NUMERIC_TYPES:
        norm = _NUMBER_SEPARATORS.sub("", norm)
    else:
        norm = _SPACES.sub("", norm)
    return f"{etype}:{norm}"


@functools.lru_cache(maxsize=8)
def fernet_for(key: bytes | str) -> Fernet:
    """A Fernet for ``key``: a urlsafe-base64 32-byte Fernet key, or any passphrase.

    A passphrase is stretched to a Fernet key with HKDF-SHA256 (fixed salt, so the same secret
    always opens the same vaults). HKDF does not slow down guessing: use a generated Fernet key
    (``Fernet.generate_key()``) in production, a passphrase only where an admin insists.
    Cached: every turn opens and seals its thread's vault with the same key (a rotation adds a
    second one).
    """
    raw = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    if not raw:
        raise MaskingError("the vault key is empty")
    try:
        if len(base64.urlsafe_b64decode(raw)) == 32 and len(raw.strip()) == 44:
            return Fernet(raw.strip())
    except (binascii.Error, ValueError):
        pass
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=_HKDF_SALT, info=_HKDF_INFO).derive(raw)
    return Fernet(base64.urlsafe_b64encode(derived))


class PlaceholderVault:
    """Placeholder ↔ real value mapping for one thread."""

    def __init__(self) -> None:
        """An empty vault."""
        self._by_key: dict[str, str] = {}  # value key -> placeholder
        self._values: dict[str, tuple[EntityType, str]] = {}  # placeholder -> (type, value)
        self._counters: dict[EntityType, int] = {}

    # -- mapping -------------------------------------------------------------------------------

    def placeholder_for(self, value: str, etype: EntityType) -> str:
        """The placeholder of ``value``: an existing one, or the next free one of its type."""
        key = value_key(value, etype)
        found = self._by_key.get(key)
        if found is not None:
            return found
        n = self._counters.get(etype, 0)
        while True:
            n += 1
            placeholder = f"<{PLACEHOLDER_LABELS[etype]}{n}>"
            if placeholder not in self._values:
                break
        self._counters[etype] = n
        self._by_key[key] = placeholder
        self._values[placeholder] = (etype, value)
        return placeholder

    def value_of(self, placeholder: str) -> str | None:
        """The real value behind a canonical placeholder such as ``<人名1>``, or None."""
        entry = self._values.get(placeholder)
        return entry[1] if entry else None

    def __len__(self) -> int:
        """Number of placeholders."""
        return len(self._values)

    def __contains__(self, placeholder: object) -> bool:
        """True when ``placeholder`` (canonical form) is in the vault."""
        return placeholder in self._values

    def __iter__(self) -> Iterator[str]:
        """Placeholders, in the order they were created."""
        return iter(self._values)

    def items(self) -> list[tuple[str, EntityType, str]]:
        """(placeholder, type, value) triples in creation order."""
        return [(p, t, v) for p, (t, v) in self._values.items()]

    def values(self) -> list[str]:
        """The real values (for tests and purge checks; never log them)."""
        return [v for _, v in self._values.values()]

    def copy(self) -> PlaceholderVault:
        """An independent copy (used to mask a blocked text without touching the real vault)."""
        other = PlaceholderVault()
        other._by_key = dict(self._by_key)
        other._values = dict(self._values)
        other._counters = dict(self._counters)
        return other

    def merge_from(self, other: PlaceholderVault) -> None:
        """Adopt every mapping of ``other`` (a copy of this vault that went on)."""
        self._by_key = dict(other._by_key)
        self._values = dict(other._values)
        self._counters = dict(other._counters)

    # -- unmasking -----------------------------------------------------------------------------

    def unmask(self, text: str) -> str:
        """Restore real values in a model's answer.

        Tolerates what models do to placeholders: full-width or other brackets (＜人名1＞,
        〈人名1〉, 《人名1》), spaces inside (< 人名 1 >), full-width digits. A placeholder not in
        this vault (one the model invented) is left exactly as written. Replacement goes through
        a callback, so values containing backslashes or group references are inserted verbatim.
        """
        if not self._values:
            return text

        def restore(m: re.Match[str]) -> str:
            label = m.group("label")
            number = int(m.group("num"))
            canonical = f"<{label}{number}>"
            entry = self._values.get(canonical)
            if entry is None or PLACEHOLDER_LABELS[entry[0]] != label:
                return m.group()
            return entry[1]

        return PLACEHOLDER_LIKE.sub(restore, text)

    # -- persistence ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, object]:
        """Plain-JSON form (contains the real values: seal it before storing)."""
        return {
            "version": _FORMAT_VERSION,
            "entries": [
                {"placeholder": p, "type": str(t), "value": v} for p, (t, v) in self._values.items()
            ],
            "counters": {str(t): n for t, n in self._counters.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> PlaceholderVault:
        """Inverse of :meth:`to_dict`; raises MaskingError on a malformed document."""
        vault = cls()
        try:
            if data.get("version") != _FORMAT_VERSION:
                raise ValueError(f"unknown vault format {data.get('version')!r}")
            entries = data["entries"]
            assert isinstance(entries, list)
            for entry in entries:
                placeholder = str(entry["placeholder"])
                etype = EntityType(entry["type"])
                value = str(entry["value"])
                m = PLACEHOLDER_LIKE.fullmatch(placeholder)
                if m is None or placeholder_type(m.group("label")) is not etype:
                    raise ValueError(f"bad placeholder {placeholder!r}")
                vault._values[placeholder] = (etype, value)
                vault._by_key.setdefault(value_key(value, etype), placeholder)
            counters = data.get("counters", {})
            assert isinstance(counters, dict)
            for t, n in counters.items():
                vault._counters[EntityType(t)] = int(n)
        except (KeyError, TypeError, ValueError, AssertionError) as exc:
            raise MaskingError(f"malformed vault: {exc}") from exc
        return vault

    def to_bytes(self) -> bytes:
        """UTF-8 JSON (contains the real values: seal it before storing)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, blob: bytes) -> PlaceholderVault:
        """Inverse of :meth:`to_bytes`."""
        try:
            data = json.loads(blob.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise MaskingError(f"malformed vault: {exc}") from exc
        if not isinstance(data, dict):
            raise MaskingError("malformed vault: not an object")
        return cls.from_dict(data)

    def seal(self, key: bytes | str) -> bytes:
        """Encrypt the vault for storage (Fernet token; no real value is readable in it)."""
        return fernet_for(key).encrypt(self.to_bytes())

    @classmethod
    def unseal(cls, key: bytes | str, blob: bytes) -> PlaceholderVault:
        """Decrypt a sealed vault; raises MaskingError for a wrong key or a tampered blob."""
        try:
            plain = fernet_for(key).decrypt(blob)
        except InvalidToken as exc:
            raise MaskingError("the vault cannot be opened (wrong key or damaged data)") from exc
        return cls.from_bytes(plain)
