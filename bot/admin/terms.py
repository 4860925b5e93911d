"""Custom terms at rest: encrypted with a key derived from the vault key, found by keyed hash.

Terms can be residents' names on a watch list, so they are treated like the placeholder vault:
never stored or logged in clear. The audit log shows a redacted form (first character only).
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from bot.masking.terms import fold_term

_SALT = b"madoguchi-admin"


def derive_key(key: bytes, purpose: bytes, length: int = 32) -> bytes:
    """A key for one ``purpose`` derived from a deployment key (HKDF-SHA256)."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=_SALT, info=purpose).derive(key)


class TermSealer:
    """Encrypts, decrypts and identifies custom terms for one deployment key."""

    def __init__(self, key: bytes) -> None:
        derived = derive_key(key, b"custom-terms", 64)
        self._fernet = Fernet(base64.urlsafe_b64encode(derived[:32]))
        self._hash_key = derived[32:]

    def identity(self, term: str) -> str:
        """A keyed hash of the folded term: ＰＲＯＪ－Ｘ and proj-x are the same term."""
        return hmac.new(self._hash_key, fold_term(term).encode("utf-8"), hashlib.sha256).hexdigest()

    def seal(self, term: str) -> bytes:
        """The encrypted term."""
        return self._fernet.encrypt(term.encode("utf-8"))

    def unseal(self, sealed: bytes) -> str:
        """The term in clear."""
        return self._fernet.decrypt(sealed).decode("utf-8")


def redact(term: str) -> str:
    """What the audit log shows of a term: its first character and its length."""
    term = term.strip()
    if len(term) <= 1:
        return "＊"
    return term[0] + "＊" * (len(term) - 1)
