"""Every addon ships i18n/<addon>.pot and a complete Simplified Chinese translation."""

from pathlib import Path

import polib
import pytest

ADDONS_DIR = Path(__file__).resolve().parents[1] / "addons"
ADDONS = sorted(p.name for p in ADDONS_DIR.iterdir() if (p / "__manifest__.py").exists())


@pytest.mark.parametrize("addon", ADDONS)
def test_zh_cn_translation_is_complete(addon):
    pot = polib.pofile(str(ADDONS_DIR / addon / "i18n" / f"{addon}.pot"))
    po = polib.pofile(str(ADDONS_DIR / addon / "i18n" / "zh_CN.po"))
    translated = {(entry.msgctxt, entry.msgid): entry.msgstr for entry in po if not entry.obsolete}
    missing = [entry.msgid for entry in pot if not translated.get((entry.msgctxt, entry.msgid))]
    assert not missing, f"{addon}: {len(missing)} string(s) without a zh_CN translation: {missing[:10]}"
    fuzzy = [entry.msgid for entry in po if "fuzzy" in entry.flags]
    assert not fuzzy, f"{addon}: fuzzy translations left: {fuzzy[:10]}"


@pytest.mark.parametrize("addon", ADDONS)
def test_placeholders_survive_translation(addon):
    """A translation keeps every named placeholder of its source, or Odoo would fail to format it."""
    import re

    placeholder = re.compile(r"%\(\w+\)[sdfr]|\{\w+\}")
    po = polib.pofile(str(ADDONS_DIR / addon / "i18n" / "zh_CN.po"))
    broken = [
        entry.msgid
        for entry in po
        if entry.msgstr and sorted(placeholder.findall(entry.msgid)) != sorted(placeholder.findall(entry.msgstr))
    ]
    assert not broken, f"{addon}: translations that lose or add placeholders: {broken[:10]}"
