"""A sentence bank for the benchmark corpus: news-like English prose, deterministic for a given ``Random``.

The words are chosen so that no sentence can name a tracked group by accident (no all-caps words, nothing
near a watchlist alias): the only group mentions in a generated text are the ones ``article_paragraphs``
puts there, and the corpus records which. The people and places give spaCy's NER real work to do.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

PEOPLE = (
    "Amina Diallo",
    "Khalifa Haftar",
    "Mokhtar Belmokhtar",
    "Iyad Ag Ghaly",
    "Ahmed Umar",
    "Fatima Sow",
    "Olusegun Adeyemi",
    "Hassan Sheikh Mohamud",
    "Mahamat Deby",
    "Bola Tinubu",
    "Assimi Goita",
    "Ibrahim Traore",
    "Abdirahman Farah",
    "Leila Haddad",
    "Yusuf Kamara",
    "Grace Nwosu",
    "Omar Benali",
    "Samuel Okonjo",
    "Nadia Rahmani",
    "Thomas Waldhauser",
)
PLACES = (
    "Sirte",
    "Sabha",
    "Benghazi",
    "Tripoli",
    "Gao",
    "Timbuktu",
    "Kidal",
    "Menaka",
    "Mopti",
    "Niamey",
    "Maiduguri",
    "Diffa",
    "Mogadishu",
    "Kismayo",
    "Baidoa",
    "Garissa",
    "Mosul",
    "Raqqa",
    "Idlib",
    "Aden",
    "Ouagadougou",
    "Bamako",
    "Agadez",
    "Tillaberi",
    "Lake Chad",
    "Cabo Delgado",
    "Pemba",
    "Sinai",
)
ORGS = (
    "the United Nations",
    "the African Union",
    "the European Union",
    "the World Food Programme",
    "the International Committee of the Red Cross",
    "Human Rights Watch",
    "the Defence Ministry",
    "the Interior Ministry",
    "the national army",
    "the regional police",
    "Amnesty International",
)
ACTORS = (
    "armed men",
    "gunmen on motorcycles",
    "local militias",
    "government troops",
    "security forces",
    "smuggling networks",
    "aid convoys",
    "community leaders",
    "displaced families",
    "border guards",
    "tribal elders",
    "peacekeepers",
    "special forces",
    "regional officials",
)
ACTIONS = (
    "attacked",
    "surrounded",
    "withdrew from",
    "reinforced",
    "negotiated with",
    "reported clashes near",
    "closed the road to",
    "evacuated",
    "patrolled",
    "restored power in",
    "set up checkpoints around",
    "delivered food to",
    "questioned residents of",
    "shelled positions outside",
)
TIMES = (
    "on Monday",
    "on Tuesday night",
    "early on Wednesday",
    "late on Thursday",
    "on Friday",
    "at the weekend",
    "last week",
    "in recent days",
    "overnight",
    "earlier this month",
    "since the start of the year",
)
TOPICS = (
    "fuel prices",
    "the harvest",
    "school closures",
    "the upcoming election",
    "water shortages",
    "the border crossing",
    "mobile phone coverage",
    "the cattle market",
    "road repairs",
    "a cholera outbreak",
    "ransom payments",
    "the gold trade",
    "displacement camps",
    "the curfew",
)

SENTENCES = (
    "{actor} {action} {place} {time}, according to {org}.",
    "{person} told reporters in {place} that {topic} remained the main concern for residents.",
    "Witnesses said {actor} {action} {place} {time} before moving north.",
    "{org} said in a statement that at least {n} people had been displaced around {place}.",
    "The situation in {place} has worsened since {time_plain}, {person} said.",
    "Residents described long queues for {topic} as {actor} {action} the town.",
    "A spokesman for {org} declined to comment on {topic}.",
    "Analysts warn that {topic} could fuel further unrest between {place} and {place2}.",
    "{person}, who visited {place} {time}, promised more support for {topic}.",
    "Traders in {place} said {topic} had doubled in cost, forcing many to leave for {place2}.",
    "Local radio reported that {n} vehicles were seen on the road between {place} and {place2}.",
    "Officials in {place} said talks on {topic} would resume {time}.",
)
GROUP_SENTENCES = (
    "Fighters loyal to {group} {action} {place} {time}, {org} said.",
    "A statement attributed to {group} claimed responsibility for the attack near {place}.",
    "{person} said {group} had expanded its presence around {place} {time}.",
    "Security sources blamed {group} for the kidnapping of {n} workers outside {place}.",
    "Analysts say {group} is exploiting anger over {topic} to recruit young men in {place}.",
    "The army said it had killed {n} members of {group} in an operation near {place2}.",
)


def sentence(rng: random.Random, group: str | None = None) -> str:
    """One sentence; with ``group`` it names that exact surface form once."""
    template = rng.choice(GROUP_SENTENCES if group else SENTENCES)
    place, place2 = rng.sample(PLACES, 2)
    text = template.format(
        actor=rng.choice(ACTORS),
        action=rng.choice(ACTIONS),
        place=place,
        place2=place2,
        time=rng.choice(TIMES),
        time_plain=rng.choice(TIMES).removeprefix("on ").removeprefix("in "),
        org=rng.choice(ORGS),
        person=rng.choice(PEOPLE),
        topic=rng.choice(TOPICS),
        n=rng.randint(2, 300),
        group=group or "",
    )
    return text[0].upper() + text[1:]


def article_paragraphs(rng: random.Random, words: int, mentions: Sequence[str]) -> list[str]:
    """Paragraphs of about ``words`` words in total, each surface form of ``mentions`` named once or more."""
    sentences: list[str] = []
    count = 0
    while count < words:
        text = sentence(rng)
        sentences.append(text)
        count += len(text.split())
    for form in mentions:  # spread the mentions through the text, the first one early (a lede)
        for at in {rng.randrange(0, min(3, len(sentences))), rng.randrange(len(sentences))}:
            sentences[at] = sentence(rng, group=form)
    paragraphs, start = [], 0
    while start < len(sentences):
        size = rng.randint(2, 6)
        paragraphs.append(" ".join(sentences[start : start + size]))
        start += size
    return paragraphs


def headline(rng: random.Random, group: str | None) -> str:
    place = rng.choice(PLACES)
    if group and rng.random() < 0.5:
        return f"{group} blamed for {rng.choice(['attack', 'ambush', 'kidnapping', 'raid'])} near {place}"
    return f"{rng.choice(['Tension', 'Clashes', 'Talks', 'Concern', 'Protests'])} over {rng.choice(TOPICS)} in {place}"
