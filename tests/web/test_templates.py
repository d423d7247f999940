"""Static checks over every screen: all text translated, nothing the CSP would block."""

from __future__ import annotations

import re
from pathlib import Path

from app.i18n import merged_catalog, untranslated

TEMPLATES = Path(__file__).resolve().parents[2] / "app" / "templates"

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
STYLE_ATTR = re.compile(r"\sstyle\s*=", re.I)
HANDLER_ATTR = re.compile(r"\s(on[a-z]+|hx-on[:\w-]*)\s*=", re.I)
STYLE_BLOCK = re.compile(r"<style\b", re.I)


def test_every_message_has_a_chinese_translation():
    missing = untranslated("zh")
    assert not missing, "untranslated (flask --app app i18n missing --po):\n" + "\n".join(
        f"{where}: {mid}" for mid, where in sorted(missing.items(), key=lambda kv: kv[1]))


def test_translations_keep_their_placeholders():
    for message in merged_catalog("zh"):
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(re.findall(r"%\((\w+)\)s", " ".join(ids)))
        for text in strings:
            assert set(re.findall(r"%\((\w+)\)s", text)) == wanted, (message.id, text)


def test_no_template_needs_inline_script_or_style():
    problems = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        for pattern in (INLINE_SCRIPT, STYLE_ATTR, HANDLER_ATTR, STYLE_BLOCK):
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                problems.append(f"{path.relative_to(TEMPLATES)}:{line}: {match.group(0).strip()}")
    assert not problems, "the CSP (script-src/style-src 'self') would block:\n" + "\n".join(problems)
