"""Language identification (py3langid) with the page's ``lang`` attribute as a hint, recorded per article."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from enrich.language import detect_language, identify_language
from enrich.tagger import Tagger
from enrich.watchlist import load_watchlist

ROOT = Path(__file__).resolve().parent.parent
ENGLISH: str = json.loads((ROOT / "seeds" / "expected_tags.json").read_text(encoding="utf-8"))["text"]
FRENCH = (
    "Les combattants de l'État islamique au Grand Sahara ont attaqué un poste de l'armée malienne près de "
    "Ménaka, selon des sources locales qui ont parlé à la presse mardi soir."
)
ARABIC = "هاجم مسلحون من تنظيم الدولة الإسلامية نقطة تفتيش تابعة للجيش قرب مدينة سبها في جنوب ليبيا مساء الثلاثاء."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (ENGLISH, "en"),
        (FRENCH, "fr"),
        (ARABIC, "ar"),
        ("Der Anschlag wurde von der Gruppe verübt, die sich zu dem Angriff auf das Lager bekannte.", "de"),
        # languages the old stop-word heuristic did not know at all
        ("Attacken mot militärlägret utfördes av en grupp som senare tog på sig ansvaret för dådet.", "sv"),
        ("Shambulio hilo lilitokea karibu na kambi ya jeshi na watu kadhaa waliuawa, polisi walisema.", "sw"),
    ],
)
def test_identifies_the_language_of_the_text(text: str, expected: str) -> None:
    guess = identify_language(text)
    assert guess.language == expected and guess.source == "text"


def test_confident_text_wins_over_a_site_wide_lang_attribute() -> None:
    # an Arabic article inside an English site template declaring lang="en"
    guess = identify_language(ARABIC, hint="en")
    assert guess.language == "ar" and guess.source == "text"


def test_hint_decides_when_the_text_is_too_short() -> None:
    assert identify_language("ISIS Libya", hint="fr-FR") == identify_language("ISIS Libya", hint="FR")
    assert detect_language("ISIS Libya", hint="fr-FR") == "fr"
    assert detect_language("ISIS Libya") is None
    assert detect_language("ISIS Libya", hint="not a language") is None
    assert identify_language("", hint="ar").source == "hint"


def test_hint_decides_between_close_candidates() -> None:
    # Danish or Norwegian? The text leans Danish, but leaves Norwegian plausible: the page decides
    text = "Angrebet skete nær lejren, og flere soldater blev dræbt."
    assert identify_language(text).language == "da"
    assert identify_language(text, hint="no") == identify_language(text, hint="nb-NO")
    assert identify_language(text, hint="no").language == "no"
    # regional varieties count as their macrolanguage
    assert identify_language("شنو كاين فالمغرب اليوم؟ الناس كيهضرو على الانتخابات والخدمة", hint="ar").language == "ar"


def test_tagger_records_the_language_with_the_page_hint() -> None:
    tagger = Tagger(watchlist=load_watchlist(ROOT / "enrich" / "data" / "watchlist.yaml"), ner=False)
    tags = tagger.tag_groups([FRENCH, ARABIC, "ISIS Libya"], ["en", None, "fr"])
    assert [t.language for t in tags] == ["fr", "ar", "fr"]
    with pytest.raises(ValueError, match="same length"):
        tagger.tag_groups([FRENCH], [])
