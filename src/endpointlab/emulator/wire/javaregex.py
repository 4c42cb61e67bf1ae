"""Translate the Java regular expressions of AWS service models into Python ``re`` patterns.

Model ``pattern`` traits are written for ``java.util.regex`` (Coral validates with it): they use
``\\p{Print}``, ``\\p{L}``, ``\\z``, surrogate-pair ranges and ASCII-only ``\\w``/``\\d``/``\\s``.
``compile_java`` rewrites those constructs and compiles with ``re.ASCII``; callers then use
``fullmatch`` because the service matches the whole value, whatever anchors the model spells.
"""

from __future__ import annotations

import itertools
import re
import sys
import unicodedata
from functools import cache

# java.util.regex POSIX classes are US-ASCII only unless UNICODE_CHARACTER_CLASS is set.
_POSIX = {
    "Lower": "a-z",
    "Upper": "A-Z",
    "ASCII": "\\x00-\\x7f",
    "Alpha": "a-zA-Z",
    "Digit": "0-9",
    "Alnum": "a-zA-Z0-9",
    "Punct": "!-/:-@\\[-`{-~",
    "Graph": "!-~",
    "Print": " -~",
    "Blank": " \\t",
    "Cntrl": "\\x00-\\x1f\\x7f",
    "XDigit": "0-9a-fA-F",
    "Space": " \\t\\n\\x0b\\f\\r",
}
_CATEGORIES = frozenset(
    {"L", "Lu", "Ll", "Lt", "Lm", "Lo", "M", "Mn", "Mc", "Me", "N", "Nd", "Nl", "No"}
    | {"P", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "S", "Sm", "Sc", "Sk", "So"}
    | {"Z", "Zs", "Zl", "Zp", "C", "Cc", "Cf", "Cs", "Co", "Cn"}
)
# Java's "." excludes every line terminator, not only "\n".
_JAVA_DOT = "[^\\n\\r\\x85\\u2028\\u2029]"


class UnsupportedPatternError(ValueError):
    """A Java construct this translator does not reproduce; callers skip the pattern."""


@cache
def compile_java(pattern: str) -> re.Pattern[str]:
    """Compile a model pattern with Java semantics; ``UnsupportedPatternError`` if impossible."""
    try:
        return re.compile(translate(pattern), re.ASCII)
    except re.error as exc:
        raise UnsupportedPatternError(f"{pattern!r}: {exc}") from exc


def translate(pattern: str) -> str:
    """Return the Python spelling of a Java regular expression."""
    out: list[str] = []
    in_class = False
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            piece, i = _escape(pattern, i, in_class)
            out.append(piece)
            continue
        if in_class:
            if ch == "[":
                raise UnsupportedPatternError(f"nested character class in {pattern!r}")
            if ch == "&" and pattern.startswith("&&", i):
                raise UnsupportedPatternError(f"class intersection in {pattern!r}")
            if ch == "]":
                in_class = False
            out.append(ch)
        elif ch == "[":
            in_class = True
            out.append(ch)
            if pattern.startswith("^", i + 1):
                out.append("^")
                i += 1
            if pattern.startswith("]", i + 1):  # a leading "]" is a literal in both dialects
                out.append("\\]")
                i += 1
        elif ch == ".":
            out.append(_JAVA_DOT)
        elif ch == "$" and i + 1 < n and pattern[i + 1] in "{*+?":
            out.append("(?:$)")  # Java tolerates a quantified "$"; Python needs a group
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def _escape(pattern: str, i: int, in_class: bool) -> tuple[str, int]:
    """Translate the escape starting at ``pattern[i] == '\\'``; return (text, next index)."""
    if i + 1 >= len(pattern):
        raise UnsupportedPatternError(f"trailing backslash in {pattern!r}")
    kind = pattern[i + 1]
    if kind in "pP":
        return _property(pattern, i, in_class)
    if kind == "u":
        return _unicode_escape(pattern, i)
    if kind == "z":
        return ("\\Z", i + 2)
    if kind == "Z":
        return ("(?=\\n?\\Z)", i + 2)
    if kind == "Q":
        end = pattern.find("\\E", i + 2)
        literal = pattern[i + 2 :] if end < 0 else pattern[i + 2 : end]
        return (re.escape(literal), len(pattern) if end < 0 else end + 2)
    if kind == "e":
        return ("\\x1b", i + 2)
    if kind == "x" and pattern.startswith("{", i + 2):
        raise UnsupportedPatternError(f"\\x{{...}} in {pattern!r}")
    if kind.isascii() and kind.isalnum() and kind not in "dDwWsSbBAtnrfax0123456789":
        raise UnsupportedPatternError(f"\\{kind} in {pattern!r}")
    return (pattern[i : i + 2], i + 2)


def _property(pattern: str, i: int, in_class: bool) -> tuple[str, int]:
    negate = pattern[i + 1] == "P"
    if pattern.startswith("{", i + 2):
        end = pattern.find("}", i + 3)
        if end < 0:
            raise UnsupportedPatternError(f"unterminated property in {pattern!r}")
        name, nxt = pattern[i + 3 : end], end + 1
    else:
        name, nxt = pattern[i + 2 : i + 3], i + 3
    if name.startswith("Is") and name[2:] in _CATEGORIES:
        name = name[2:]
    if name in _POSIX:
        body = _POSIX[name]
    elif name in _CATEGORIES:
        body = _category_class(name)
    else:
        raise UnsupportedPatternError(f"\\p{{{name}}} in {pattern!r}")
    if in_class:
        if negate:
            raise UnsupportedPatternError(f"negated property inside a class in {pattern!r}")
        return (body, nxt)
    return (f"[{'^' if negate else ''}{body}]", nxt)


def _unicode_escape(pattern: str, i: int) -> tuple[str, int]:
    code = _hex4(pattern, i + 2)
    nxt = i + 6
    if 0xD800 <= code <= 0xDBFF and pattern.startswith("\\u", nxt):
        low = _hex4(pattern, nxt + 2)
        if 0xDC00 <= low <= 0xDFFF:  # a surrogate pair names one supplementary code point
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
            nxt += 6
    return (f"\\U{code:08x}", nxt)


def _hex4(pattern: str, start: int) -> int:
    digits = pattern[start : start + 4]
    if len(digits) != 4 or not all(c in "0123456789abcdefABCDEF" for c in digits):
        raise UnsupportedPatternError(f"bad \\u escape in {pattern!r}")
    return int(digits, 16)


@cache
def _category_runs() -> tuple[tuple[int, int, str], ...]:
    """(first, last, category) runs over all code points, computed once (C-speed grouping)."""
    categories = map(unicodedata.category, map(chr, range(sys.maxunicode + 1)))
    runs = []
    start = 0
    for category, group in itertools.groupby(categories):
        size = len(list(group))
        runs.append((start, start + size - 1, category))
        start += size
    return tuple(runs)


@cache
def _category_class(name: str) -> str:
    """Character-class body (ranges) for a Unicode general category or its one-letter group."""
    merged: list[list[int]] = []
    for first, last, category in _category_runs():
        if category.startswith(name):
            if merged and merged[-1][1] == first - 1:
                merged[-1][1] = last
            else:
                merged.append([first, last])
    return "".join(f"\\U{a:08x}" if a == b else f"\\U{a:08x}-\\U{b:08x}" for a, b in merged)
