"""The consent notice: exact text per language, bound by version and SHA-256."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources

NOTICE_VERSION = "2026-11"
NOTICE_LANGUAGES = ("en", "es")
ALTERNATIVES = ("office_visit", "phone_call")


@dataclass(frozen=True)
class Notice:
    version: str
    language: str
    text: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


def notice(language: str, version: str = NOTICE_VERSION) -> Notice:
    """The notice in `language` (English when there is no translation yet)."""
    lang = language if language in NOTICE_LANGUAGES else "en"
    text = (
        resources.files("caseledger.supervision") / "notices" / f"consent-{version}.{lang}.txt"
    ).read_text(encoding="utf-8")
    return Notice(version, lang, text)
