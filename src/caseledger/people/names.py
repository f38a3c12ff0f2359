"""Name normalisation for search across spellings and scripts.

`search_key` is the name in ASCII (any script, via anyascii), lower case, punctuation
folded to spaces. `skeleton` drops vowels and doubled letters from it, so that
transliteration variants meet: Mohammed / Muhammad / محمد all give "mhmd", and
Oleksandr / Aleksandr differ by one letter instead of two.
"""

from __future__ import annotations

import re

from anyascii import anyascii

_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_VOWELS = re.compile(r"[aeiouy]")
_REPEATS = re.compile(r"(.)\1+")
_EQUIVALENTS = (
    ("ph", "f"),
    ("kh", "h"),
    ("ck", "k"),
    ("q", "k"),
    ("w", "v"),
    ("j", "y"),
    ("z", "s"),
    ("x", "ks"),
    ("c", "k"),
)


def search_key(text: str) -> str:
    return " ".join(_NON_ALNUM.sub(" ", anyascii(text or "").lower()).split())


def skeleton(text: str) -> str:
    words = []
    for word in search_key(text).split():
        first, rest = word[0], word[1:]
        for a, b in _EQUIVALENTS:
            rest = rest.replace(a, b)
        rest = _REPEATS.sub(r"\1", _VOWELS.sub("", rest))
        words.append(first + rest if first not in "aeiouy" else "a" + rest)
    return " ".join(words)
