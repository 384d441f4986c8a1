"""The event ontology (close to ACLED's event types) and its trigger words in English, French and Arabic.

Each trigger is a phrase of words, written as a reporter writes it; the matchers normalise phrases and text
the same way (enrich.normalize: case, diacritics, Arabic letter variants), so "enlèvement" matches
"enlevement" and "الإرهابيين" matches "الارهابيين". Arabic phrases are matched after the usual proclitics
(و ف ب ل ال ...) are taken off a word (see enrich.events.tokens), so they are written bare.

A trigger is *strong* (the word names an event: "ambush", "kidnapped") or *weak* ("killed", "قتل"): a weak
trigger makes an event only when the sentence also names who did it. ``verb_first`` marks Arabic verbs, after
which the actor follows (verb-subject order: "هاجم مسلحون").
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class EventType(StrEnum):
    ARMED_CLASH = "armed_clash"
    ATTACK = "attack"
    EXPLOSION = "explosion_remote_violence"
    ABDUCTION = "abduction"
    VIOLENCE_AGAINST_CIVILIANS = "violence_against_civilians"
    ARREST = "arrest"


class Subtype(StrEnum):
    IED = "ied"
    SUICIDE_BOMBING = "suicide_bombing"
    AIR_DRONE_STRIKE = "air_drone_strike"
    SHELLING = "shelling"


@dataclass(frozen=True, slots=True)
class Trigger:
    type: EventType
    subtype: Subtype | None
    rank: int  # lower wins when one sentence has several triggers: the most specific word names the event
    weak: bool = False
    verb_first: bool = False


_SUICIDE = Trigger(EventType.EXPLOSION, Subtype.SUICIDE_BOMBING, 0)
_IED = Trigger(EventType.EXPLOSION, Subtype.IED, 1)
_AIR = Trigger(EventType.EXPLOSION, Subtype.AIR_DRONE_STRIKE, 1)
_SHELL = Trigger(EventType.EXPLOSION, Subtype.SHELLING, 2)
_BOMB = Trigger(EventType.EXPLOSION, None, 2)
_KIDNAP = Trigger(EventType.ABDUCTION, None, 3)
_KIDNAP_V = Trigger(EventType.ABDUCTION, None, 3, verb_first=True)
_MASSACRE = Trigger(EventType.VIOLENCE_AGAINST_CIVILIANS, None, 4)
_MASSACRE_V = Trigger(EventType.VIOLENCE_AGAINST_CIVILIANS, None, 4, verb_first=True)
_CLASH = Trigger(EventType.ARMED_CLASH, None, 5)
_ATTACK = Trigger(EventType.ATTACK, None, 6)
_ATTACK_V = Trigger(EventType.ATTACK, None, 6, verb_first=True)
_ARREST = Trigger(EventType.ARREST, None, 7)
_ARREST_V = Trigger(EventType.ARREST, None, 7, verb_first=True)
_KILL = Trigger(EventType.ATTACK, None, 8, weak=True)
_KILL_V = Trigger(EventType.ATTACK, None, 8, weak=True, verb_first=True)

TRIGGERS: dict[str, dict[Trigger, tuple[str, ...]]] = {
    "en": {
        _SUICIDE: ("suicide bomber", "suicide bombers", "suicide bombing", "suicide attack", "suicide car bomb"),
        _IED: (
            "roadside bomb",
            "ied",
            "improvised explosive device",
            "landmine",
            "car bomb",
            "bomb exploded",
            "bomb blast",
            "explosive device",
        ),
        _AIR: ("drone strike", "drone strikes", "air strike", "air strikes", "airstrike", "airstrikes", "air raid"),
        _BOMB: ("bombing", "bomb attack", "explosion", "blast"),
        _SHELL: ("shelling", "shelled", "mortar fire", "mortar shells", "artillery fire", "rocket fire"),
        _KIDNAP: ("kidnapped", "kidnapping", "abducted", "abduction", "kidnap", "taken hostage", "seized hostage"),
        _MASSACRE: ("massacre", "massacred", "executed"),
        _CLASH: ("clashes", "clashed", "clash", "fighting between", "gunfight", "firefight"),
        _ATTACK: ("attack", "attacked", "attacks", "ambush", "ambushed", "raid", "raided", "stormed", "assault"),
        _ARREST: ("arrested", "detained", "apprehended", "arrest of"),
        _KILL: ("killed", "shot dead", "killing"),
    },
    "fr": {
        _SUICIDE: ("kamikaze", "kamikazes", "attentat suicide", "attentat kamikaze"),
        _IED: ("engin explosif improvise", "engin explosif", "mine artisanale", "voiture piegee", "bombe artisanale"),
        _AIR: ("frappe de drone", "frappes de drone", "frappe aerienne", "frappes aeriennes", "raid aerien"),
        _BOMB: ("explosion", "attentat a la bombe"),
        _SHELL: ("bombardement", "bombardements", "tirs d obus", "obus", "tirs de mortier", "pilonne"),
        _KIDNAP: (
            "enleve",
            "enleves",
            "enlevee",
            "enlevees",
            "enlevement",
            "kidnappe",
            "kidnappes",
            "kidnapping",
            "pris en otage",
            "rapt",
        ),
        _MASSACRE: ("massacre", "massacres", "execute", "executes"),
        _CLASH: (
            "affrontements",
            "affrontement",
            "combats entre",
            "accrochage",
            "accrochages",
            "se sont affrontes",
            "affronte",
            "ont affronte",
        ),
        _ATTACK: ("attaque", "attaques", "attaque contre", "attaquee", "embuscade", "assaut", "attentat", "raid"),
        _ARREST: ("arrete", "arretes", "interpelle", "interpelles", "arrestation", "apprehende"),
        _KILL: ("tue", "tues", "abattu", "abattus"),
    },
    "ar": {
        _SUICIDE: ("انتحاري", "انتحاريه", "تفجير انتحاري", "هجوم انتحاري"),
        _IED: ("عبوه ناسفه", "عبوات ناسفه", "لغم", "سياره مفخخه"),
        _AIR: ("غاره جويه", "غارات جويه", "طائره مسيره", "ضربه جويه", "غاره بطائره مسيره"),
        _BOMB: ("تفجير", "انفجار"),
        _SHELL: ("قصف", "قذائف", "قصفت"),
        _KIDNAP: ("اختطاف", "خطف"),
        _KIDNAP_V: ("اختطف", "اختطفت", "اختطفوا", "خطفوا"),
        _MASSACRE: ("مجزره", "اعدام"),
        _MASSACRE_V: ("اعدم", "اعدمت", "اعدموا"),
        _CLASH: ("اشتباكات", "اشتباك", "اشتبك", "مواجهات"),
        _ATTACK: ("هجوم", "هجوما", "كمين", "اعتداء"),
        _ATTACK_V: ("هاجم", "هاجمت", "هاجموا", "اقتحم", "اقتحموا"),
        _ARREST: ("اعتقال", "القبض علي"),
        _ARREST_V: ("اعتقلت", "اعتقل", "اوقفت"),
        _KILL_V: ("قتل", "قتلت", "قتلوا"),
    },
}
