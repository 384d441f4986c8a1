"""The tracked-group matcher: the seed article, hard negatives, every group's names and transliterations."""

from __future__ import annotations

import json
import random
import string
from pathlib import Path

import pytest

from enrich.gazetteer import GroupMatch, GroupMatcher
from enrich.watchlist import TrackedGroup, Watchlist, load_watchlist

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WATCHLIST = ROOT / "enrich" / "data" / "watchlist.yaml"
SEED = json.loads((ROOT / "seeds" / "expected_tags.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def watchlist() -> Watchlist:
    return load_watchlist(DEFAULT_WATCHLIST)


@pytest.fixture(scope="module")
def matcher(watchlist: Watchlist) -> GroupMatcher:
    return GroupMatcher(watchlist)


def found(matcher: GroupMatcher, text: str) -> list[tuple[str, str]]:
    matches = matcher.find(text)
    for m in matches:  # offsets always point at the surface form in the original text
        assert text[m.start : m.end] == m.surface
    return [(m.group_id, m.surface) for m in matches]


def test_seed_article_groups_are_exactly_islamic_state_and_al_qaeda(matcher: GroupMatcher) -> None:
    matches = matcher.find(SEED["text"])
    assert {m.group_id for m in matches} == {"islamic-state", "al-qaeda"}
    expected = [
        (group["id"], mention["start"], mention["end"], mention["surface"])
        for group in SEED["groups"]
        for mention in group["mentions"]
    ]
    assert sorted((m.group_id, m.start, m.end, m.surface) for m in matches) == sorted(expected)


def test_seed_article_mentions_counted_by_hand(matcher: GroupMatcher) -> None:
    text = SEED["text"]
    matches = matcher.find(text)
    isis = [m for m in matches if m.surface == "ISIS"]
    assert len(isis) == text.count("ISIS") == 10  # including "ISIS’ defeats", "[ISIS]" and "ISIS-Al-Qaeda"
    assert [m.surface for m in matches if m.group_id == "al-qaeda"] == ["al-Qaida", "Al-Qaeda", "Al-Qaeda"]
    assert {m.surface for m in matches if m.group_id == "islamic-state"} == {
        "ISIS",
        "Islamic State",
        "Islamic State-Libya",
    }


@pytest.mark.parametrize(
    "text",
    [
        "Crews rowed on the Isis past Christ Church Meadow; the Isis is what Oxford calls the Thames.",
        "ROWING ON THE ISIS: OXFORD CREWS RETURN TO THE RIVER",
        "A statue of Isis, the Egyptian goddess, was restored in Philae.",
        "The IS department upgraded the servers, and the IS help desk is open until six.",
        "It is what it is. THIS IS FINE. Is it? Yes, it is.",
        "The museum's Islamic art collection and Islamic architecture of the Maghreb.",
        "Isil Yilmaz won the chess tournament in Izmir.",
        "The state is Islamic by its constitution; the Islamic world reacted.",
        "Qaedaism is not a word, Daeshbag is a slur and ISISx is a product code.",
        "The HTS code of the imported steel was wrong, said the customs office.",
        "AQ levels (air quality) rose in Cairo.",
        "Boko is a Hausa word; haram is Arabic.",
    ],
)
def test_hard_negatives_find_no_group(matcher: GroupMatcher, text: str) -> None:
    assert found(matcher, text) == []


# Names and transliterations for every group of the default watchlist, written as they appear in the press,
# mostly NOT verbatim in the watchlist (case, apostrophes, hyphens, diacritics, possessives differ).
ALIAS_CASES: list[tuple[str, str, str]] = [
    ("islamic-state", "Fighters loyal to DAESH retreated.", "DAESH"),
    ("islamic-state", "Leaflets signed by Dāʿish appeared.", "Dāʿish"),
    ("islamic-state", "The Islamic State’s leader spoke.", "Islamic State"),
    ("islamic-state", "ISIL's fighters and others.", "ISIL"),
    ("islamic-state", "the Islamic State of Iraq and al\u2011Sham announced", "Islamic State of Iraq and al\u2011Sham"),
    ("islamic-state", "the ad-Dawla al-Islamiyya said", "ad-Dawla al-Islamiyya"),
    ("islamic-state", "After ISIS’ defeats in Syria", "ISIS"),
    ("islamic-state", "IS fighters took the town, the Islamic State said.", "IS"),
    ("islamic-state", "Wilayat Barqa claimed it.", "Wilayat Barqa"),
    ("al-qaeda", "a cell of Al-Qa‘ida in the city", "Al-Qa‘ida"),
    ("al-qaeda", "AL QAEDA STRIKES", "AL QAEDA"),
    ("al-qaeda", "al\u2011Qaida's core", "al\u2011Qaida"),
    ("al-qaeda", "Qaeda-linked militants", "Qaeda"),
    ("al-qaeda", "alQaeda propaganda", "alQaeda"),
    ("aqim", "AQIM kidnapped two tourists.", "AQIM"),
    ("aqim", "al Qaida in the Islamic Maghreb claimed", "al Qaida in the Islamic Maghreb"),
    ("aqim", "Al-Qaïda au Maghreb islamique (AQMI) a revendiqué", "Al-Qaïda au Maghreb islamique"),
    ("aqim", "the former Salafist Group for Preaching and Combat", "Salafist Group for Preaching and Combat"),
    ("aqap", "AQAP's bomb maker", "AQAP"),
    ("aqap", "Al-Qa'ida in the Arabian Peninsula said", "Al-Qa'ida in the Arabian Peninsula"),
    ("aqap", "Ansar al-Sharia in Yemen held Zinjibar", "Ansar al-Sharia in Yemen"),
    ("aqis", "AQIS was founded in 2014 as al Qaeda in the Indian Subcontinent", "AQIS"),
    ("al-shabaab", "Al-Shabab militants attacked", "Al-Shabab"),
    ("al-shabaab", "al Shabaab’s spokesman", "al Shabaab"),
    ("al-shabaab", "Harakat al-Shabaab al-Mujahideen", "Harakat al-Shabaab al-Mujahideen"),
    ("jnim", "JNIM besieged Djibo.", "JNIM"),
    ("jnim", "Jama’at Nusrat al-Islam wal-Muslimin claimed", "Jama’at Nusrat al-Islam wal-Muslimin"),
    ("jnim", "Jamaat Nusrat al Islam wal Muslimeen", "Jamaat Nusrat al Islam wal Muslimeen"),
    ("al-mourabitoun", "Belmokhtar's Al Mourabitoun", "Al Mourabitoun"),
    ("al-mourabitoun", "the al-Murabitun brigade", "al-Murabitun"),
    ("ansar-dine", "Ansar Dine took Timbuktu", "Ansar Dine"),
    ("ansar-dine", "Ansar al Din fighters", "Ansar al Din"),
    ("ansar-dine", "Ansar Eddine a pris Kidal", "Ansar Eddine"),
    ("mujao", "MUJAO controlled Gao.", "MUJAO"),
    ("mujao", "the Movement for Oneness and Jihad in West Africa", "Movement for Oneness and Jihad in West Africa"),
    ("ansar-al-sharia", "Ansar al-Shari’a in Benghazi", "Ansar al-Shari’a"),
    ("ansar-al-sharia", "Ansar al Sharia in Libya was blamed", "Ansar al Sharia in Libya"),
    ("boko-haram", "BOKO HARAM ABDUCTS PUPILS", "BOKO HARAM"),
    ("boko-haram", "Boko Haram's leader Shekau", "Boko Haram"),
    (
        "boko-haram",
        "Jama'atu Ahlis Sunna Lidda'awati wal-Jihad (JAS), known as Boko Haram",
        "Jama'atu Ahlis Sunna Lidda'awati wal-Jihad",
    ),
    ("ansaru", "Ansaru kidnapped engineers", "Ansaru"),
    ("iswap", "ISWAP overran the base", "ISWAP"),
    ("iswap", "the Islamic State West Africa Province claimed", "Islamic State West Africa Province"),
    ("iswap", "Islamic State’s West Africa Province (ISWAP)", "Islamic State’s West Africa Province"),
    ("is-sahel", "ISGS ambushed the patrol", "ISGS"),
    ("is-sahel", "the Islamic State in the Greater Sahara", "Islamic State in the Greater Sahara"),
    ("is-sahel", "l’Etat islamique au Grand Sahara (EIGS)", "Etat islamique au Grand Sahara"),
    ("is-khorasan", "ISIS-K claimed the airport attack", "ISIS-K"),
    ("is-khorasan", "IS\u2011K recruits", "IS\u2011K"),
    ("is-khorasan", "ISKP's media wing", "ISKP"),
    ("is-khorasan", "the Islamic State–Khorasan Province", "Islamic State–Khorasan Province"),
    ("is-sinai", "Wilayat Sinai attacked a checkpoint", "Wilayat Sinai"),
    ("is-sinai", "Ansar Beit al-Maqdis pledged", "Ansar Beit al-Maqdis"),
    ("is-central-africa", "ISCAP fighters in Ituri", "ISCAP"),
    ("is-central-africa", "the Islamic State Central Africa Province", "Islamic State Central Africa Province"),
    ("hts", "Hayat Tahrir al-Sham took Aleppo", "Hayat Tahrir al-Sham"),
    ("hts", "Tahrir al Sham leaders", "Tahrir al Sham"),
    ("al-nusra-front", "Jabhat al-Nusra and the Nusra Front", "Jabhat al-Nusra"),
    ("al-nusra-front", "renamed Jabhat Fatah al-Sham", "Jabhat Fatah al-Sham"),
    ("hurras-al-din", "Hurras ad-Din commanders", "Hurras ad-Din"),
    ("hurras-al-din", "Hurras al-Din, al-Qaeda's Syrian branch", "Hurras al-Din"),
]


@pytest.mark.parametrize(("group_id", "text", "surface"), ALIAS_CASES)
def test_names_and_transliterations(matcher: GroupMatcher, group_id: str, text: str, surface: str) -> None:
    assert found(matcher, text)[0] == (group_id, surface)


def test_every_group_of_the_default_watchlist_has_alias_cases(watchlist: Watchlist) -> None:
    assert {g.id for g in watchlist} == {case[0] for case in ALIAS_CASES}


def test_every_listed_form_finds_its_own_group(watchlist: Watchlist, matcher: GroupMatcher) -> None:
    for group in watchlist:
        for form in (*group.insensitive_forms(), *group.case_sensitive, *group.ambiguous):
            # ambiguous forms need the group's name in the same text
            text = f"Reports said {form} was involved. {group.name} later confirmed it."
            first = matcher.find(text)[0]
            assert (first.group_id, first.surface) == (group.id, form), form


def test_longest_match_wins(matcher: GroupMatcher) -> None:
    text = "The Islamic State West Africa Province is an Islamic State affiliate; al-Qaeda in the Islamic Maghreb too."
    assert found(matcher, text) == [
        ("iswap", "Islamic State West Africa Province"),
        ("islamic-state", "Islamic State"),
        ("aqim", "al-Qaeda in the Islamic Maghreb"),
    ]


def test_possessive_and_hyphenated_neighbours_keep_the_name_only(matcher: GroupMatcher) -> None:
    text = "the Islamic State's leader, ISIS-Al-Qaeda partners and al-Qaida’s men"
    assert found(matcher, text) == [
        ("islamic-state", "Islamic State"),
        ("islamic-state", "ISIS"),
        ("al-qaeda", "Al-Qaeda"),
        ("al-qaeda", "al-Qaida"),
    ]


def test_ambiguous_form_needs_the_group_named_elsewhere(matcher: GroupMatcher) -> None:
    assert found(matcher, "IS claimed the attack.") == []
    assert found(matcher, "IS claimed the attack, the Islamic State said.") == [
        ("islamic-state", "IS"),
        ("islamic-state", "Islamic State"),
    ]
    # a child group's name does not confirm the parent's ambiguous acronym
    assert found(matcher, "ISWAP and IS fighters") == [("iswap", "ISWAP")]


def test_case_sensitive_form_in_a_shouted_headline_needs_confirmation(matcher: GroupMatcher) -> None:
    assert found(matcher, "BOATS ON THE ISIS TODAY") == []
    assert found(matcher, "ISIS, ISIL and Daesh") == [
        ("islamic-state", "ISIS"),
        ("islamic-state", "ISIL"),
        ("islamic-state", "Daesh"),
    ]
    shouted = "ISIS STRIKES AGAIN. The Islamic State claimed it."
    assert found(matcher, shouted) == [("islamic-state", "ISIS"), ("islamic-state", "Islamic State")]


def test_offsets_are_into_the_original_text_after_rewritten_characters(matcher: GroupMatcher) -> None:
    text = "Naïve “quotes”\u00a0\u00a0and Dāʿish — then AL\u2011QAʼIDA’s envoy met ISIS."
    matches = matcher.find(text)
    assert [(m.group_id, m.surface) for m in matches] == [
        ("islamic-state", "Dāʿish"),
        ("al-qaeda", "AL\u2011QAʼIDA"),
        ("islamic-state", "ISIS"),
    ]
    assert all(text[m.start : m.end] == m.surface for m in matches)


def test_empty_watchlist_and_empty_text() -> None:
    assert GroupMatcher(Watchlist(())).find("Islamic State") == []
    assert GroupMatcher(Watchlist((TrackedGroup(id="x", name="Some Group"),))).find("") == []


def test_ten_thousand_aliases_do_not_change_the_default_matches(watchlist: Watchlist, matcher: GroupMatcher) -> None:
    rng = random.Random(7)
    extra = [
        TrackedGroup(
            id=f"synthetic-{i}",
            name=f"Synthetic Group {i}",
            aliases=tuple("".join(rng.choices(string.ascii_lowercase, k=9)) + " brigade" for _ in range(9)),
        )
        for i in range(1000)
    ]
    big = GroupMatcher(Watchlist((*watchlist.groups, *extra)))
    assert sum(1 + len(g.aliases) for g in extra) == 10_000
    assert big.find(SEED["text"]) == matcher.find(SEED["text"])
    alias = extra[500].aliases[3]
    assert big.find(f"Yesterday the {alias.title()} attacked.") == [
        GroupMatch("synthetic-500", alias.title(), 14, 14 + len(alias))
    ]
