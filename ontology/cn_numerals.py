"""Chinese numerals as statutes write them (第一百二十三条, 第（十二）项), both ways.

Article, chapter and item numbers in Chinese law are written in Chinese numerals; the graph
keeps them as integers (for ordering and lookup) and as the exact written form (for citation
labels). Statutes never go beyond the thousands (the Ecological Environment Code has ~1,242
articles), so this handles 0..9999 — enough, and small enough to get exactly right.
"""

from __future__ import annotations

DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
          "六": 6, "七": 7, "八": 8, "九": 9}
UNITS = {"十": 10, "百": 100, "千": 1000}
NUMERAL_CHARS = "".join(DIGITS) + "".join(UNITS)

_WRITE_DIGITS = "零一二三四五六七八九"


def parse_cn_int(text: str) -> int:
    """``一百二十三`` -> 123, ``十二`` -> 12, ``一千二百四十二`` -> 1242, ``一百零八`` -> 108.

    Raises ``ValueError`` on anything that is not a well-formed numeral, so a typo in a
    statute heading is reported rather than silently becoming a wrong article number.
    """
    if not text:
        raise ValueError("empty numeral")
    total = 0
    digit: int | None = None
    last_unit = 10_000
    for ch in text:
        if ch in DIGITS:
            if digit is not None and digit != 0:
                raise ValueError(f"two digits in a row in {text!r}")
            digit = DIGITS[ch]
        elif ch in UNITS:
            unit = UNITS[ch]
            if unit >= last_unit:
                raise ValueError(f"unit {ch} out of order in {text!r}")
            if digit == 0:
                raise ValueError(f"零 before a unit in {text!r}")
            # 十二 (no leading digit) means 12; elsewhere a unit needs its digit.
            if digit is None and not (unit == 10 and total == 0):
                raise ValueError(f"unit {ch} without a digit in {text!r}")
            total += (digit if digit is not None else 1) * unit
            last_unit = unit
            digit = None
        else:
            raise ValueError(f"not a Chinese numeral: {text!r}")
    if digit:
        total += digit
    if total == 0 and text not in ("零", "〇"):
        raise ValueError(f"not a Chinese numeral: {text!r}")
    return total


def format_cn_int(n: int) -> str:
    """123 -> ``一百二十三``, 12 -> ``十二``, 108 -> ``一百零八``, 1242 -> ``一千二百四十二``.

    The inverse of :func:`parse_cn_int` in the form statutes use (``十二``, not ``一十二``,
    at the start; ``一百一十二`` inside a larger number).
    """
    if not 0 <= n <= 9999:
        raise ValueError(f"out of range for a statute numeral: {n}")
    if n == 0:
        return "零"
    parts: list[str] = []
    pending_zero = False
    for unit, name in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        d = n // unit % 10
        if d == 0:
            if parts:
                pending_zero = True
            continue
        if pending_zero:
            parts.append("零")
            pending_zero = False
        if unit == 10 and d == 1 and not parts:
            parts.append("十")
        else:
            parts.append(_WRITE_DIGITS[d] + name)
    return "".join(parts)
