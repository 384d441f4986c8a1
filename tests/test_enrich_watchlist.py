"""Loading and checking watchlist files."""

from __future__ import annotations

from pathlib import Path

import pytest

from enrich.errors import WatchlistError
from enrich.watchlist import check_watchlist, load_watchlist

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "watchlist.yaml"
    path.write_text(body, encoding="utf-8")
    return path


def test_default_watchlist_loads_without_errors() -> None:
    wl = load_watchlist(ROOT / "enrich" / "data" / "watchlist.yaml")
    assert [p for p in check_watchlist(wl) if p.severity == "error"] == []
    state = wl.get("islamic-state")
    assert state is not None and state.wikidata == "Q2429253"
    assert {"ISIS", "ISIL"} <= set(state.case_sensitive) and "IS" in state.ambiguous
    assert {"Daesh", "Da'esh", "ad-Dawlah al-Islamiyah"} <= set(state.aliases)
    qaeda = wl.get("al-qaeda")
    assert qaeda is not None and qaeda.wikidata == "Q34490"
    assert {"al-Qaida", "al-Qa'ida"} <= set(qaeda.aliases) and "AQ" in qaeda.ambiguous
    for child in ("aqim", "aqap", "al-shabaab", "jnim", "iswap", "is-khorasan", "is-sahel"):
        group = wl.get(child)
        assert group is not None and group.parent in {"al-qaeda", "islamic-state", "aqim"}


def test_problems_are_reported_with_the_group_and_a_reason(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
groups:
  - id: alpha
    name: Alpha Front
    wikidata: Q123
    aliases: [Alpha Brigade, al-Qaida]
  - id: beta
    name: ""
    wikidata: X99
    parent: gamma
    aliases: [Al Qa'ida]
  - id: delta
    name: Delta
    parent: epsilon
  - id: epsilon
    name: Epsilon
    parent: delta
  - id: alpha
    name: Alpha again
    case_sensitive: ["  "]
""",
    )
    problems = check_watchlist(load_watchlist(path))
    errors = {(p.group_id, p.message) for p in problems if p.severity == "error"}
    messages = " | ".join(f"{gid}: {msg}" for gid, msg in errors)
    assert "beta: name is empty" in messages
    assert "beta: wikidata 'X99' is not a Wikidata id" in messages
    assert "beta: parent 'gamma' is not a group of this watchlist" in messages
    assert "beta: form 'al qaida' is also a form of 'alpha'" in messages  # spelling variants collide
    assert "alpha: id is used by more than one group" in messages
    assert "alpha: form '' is empty once normalised" in messages
    assert any(gid == "delta" and "loops" in msg for gid, msg in errors)
    assert problems[0].severity == "error"
    assert {p.group_id for p in problems if p.severity == "warning"} >= {"delta", "epsilon"}  # no Wikidata


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("groups: [", "not valid YAML"),
        ("- just a list", "expected a mapping with a 'groups' list"),
        ("groups:\n  - name: No Id\n", "groups[0].id is required"),
        ("groups:\n  - id: x\n    name: X\n    aliases: Daesh\n", "expected a list of strings"),
        ("groups:\n  - id: x\n    name: X\n    alias: [Daesh]\n", "unknown keys ['alias']"),
        ("groups:\n  - plain string\n", "expected a mapping, got str"),
    ],
)
def test_files_that_cannot_be_interpreted_raise(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(WatchlistError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_watchlist(write(tmp_path, body))


def test_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(WatchlistError, match="not found"):
        load_watchlist(tmp_path / "nope.yaml")


def test_default_watchlist_names_every_group_in_arabic_script_and_french() -> None:
    wl = load_watchlist(ROOT / "enrich" / "data" / "watchlist.yaml")
    assert not [p for p in check_watchlist(wl) if "Arabic" in p.message or "mixes" in p.message]
    state, qaeda, aqim, jnim = (wl.get(g) for g in ("islamic-state", "al-qaeda", "aqim", "jnim"))
    assert state is not None and qaeda is not None and aqim is not None and jnim is not None
    assert {"داعش", "تنظيم الدولة الإسلامية", "l'État islamique"} <= set(state.aliases)
    assert "EI" in state.case_sensitive and "État islamique" in state.ambiguous
    assert "تنظيم القاعدة" in qaeda.aliases and "القاعدة" in qaeda.ambiguous  # also "the base", "the rule"
    assert {"القاعدة في بلاد المغرب الإسلامي", "Al-Qaïda au Maghreb islamique"} <= set(aqim.aliases)
    assert "جماعة نصرة الإسلام والمسلمين" in jnim.aliases and "GSIM" in jnim.case_sensitive


def test_script_mistakes_are_reported(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
groups:
  - id: alpha
    name: Alpha Front
    wikidata: Q1
    aliases: ["D\u0430esh", جبهة ألفا, والجبهة الأولى, للجبهة الثانية]
    case_sensitive: [ALF, جبهة]
  - id: beta
    name: Beta Brigade
    wikidata: Q2
""",
    )
    problems = {(p.severity, p.group_id, p.message) for p in check_watchlist(load_watchlist(path))}
    text = " | ".join(f"{s} {g}: {m}" for s, g, m in sorted(problems))
    assert "error alpha: form 'Dаesh': 'Dаesh' mixes CYRILLIC and LATIN letters" in text  # a look-alike а
    assert "error alpha: form 'جبهة': Arabic script has no case" in text
    assert "warning alpha: form 'والجبهة الأولى' starts with an attached prefix" in text
    assert "warning alpha: form 'للجبهة الثانية' starts with an attached prefix" in text
    assert "form 'جبهة ألفا'" not in text
    assert ("warning", "beta", "no Arabic-script form") in problems
    assert not any(g == "alpha" and m == "no Arabic-script form" for _, g, m in problems)
