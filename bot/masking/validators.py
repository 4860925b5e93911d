"""Check-digit and format validators for numeric identifiers."""
from __future__ import annotations


def my_number_valid(digits: str) -> bool:
    """True when a 12-digit string carries a valid My Number (個人番号) check digit.

    The official algorithm (番号法施行令第八条): with P(n) the n-th of the first eleven
    digits counted from the right and Q(n) = n+1 for n ≤ 6, n-5 for n ≥ 7, the remainder
    r = Σ P(n)·Q(n) mod 11 gives the check digit 0 when r ≤ 1, else 11 − r.
    """
    if len(digits) != 12 or not digits.isascii() or not digits.isdigit():
        return False
    body = digits[:11]
    total = 0
    for n in range(1, 12):
        p = int(body[11 - n])
        q = n + 1 if n <= 6 else n - 5
        total += p * q
    r = total % 11
    check = 0 if r <= 1 else 11 - r
    return check == int(digits[11])


def luhn_valid(digits: str) -> bool:
    """True when ``digits`` passes the Luhn (mod 10) check used by payment cards."""
    if not digits.isascii() or not digits.isdigit() or len(digits) < 2:
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def credit_card_plausible(digits: str) -> bool:
    """Luhn-valid, 13–19 digits and not one digit repeated (0000000000000 passes Luhn)."""
    return 13 <= len(digits) <= 19 and len(set(digits)) > 1 and luhn_valid(digits)
