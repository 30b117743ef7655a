"""Port of src/data/corpus.ts: the generated English-like corpus, draw for draw (JavaScript evaluates
arguments and template parts left to right; so do these calls and f-strings)."""
import re

from .rng import Rng, derive_seed

ONSETS = ['b', 'd', 'f', 'g', 'k', 'l', 'm', 'n', 'p', 'r', 's', 't', 'v', 'z', 'br', 'dr', 'kl', 'st', 'tr', 'sh', 'h', 'j']
VOWELS = ['a', 'e', 'i', 'o', 'u', 'ai', 'ou', 'ee', 'ia']
CODAS = ['', '', '', 'n', 'r', 'l', 's', 'm', 'th', 'k']
TOWN_ENDINGS = ['ton', 'ford', 'burg', 'wick', 'dale', 'mouth', 'field', 'port']
JOBS = ['baker', 'farmer', 'teacher', 'doctor', 'painter', 'sailor', 'miller', 'singer', 'builder', 'cook', 'driver', 'writer']
PETS = ['dog', 'cat', 'horse', 'goat', 'parrot', 'rabbit', 'duck', 'pig']
FOODS = ['apples', 'bread', 'cheese', 'soup', 'fish', 'honey', 'rice', 'pears', 'cake', 'beans', 'plums', 'eggs']
PLACES = ['market', 'river', 'school', 'bakery', 'harbour', 'library', 'garden', 'station', 'mill', 'square']
DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday']
ADJECTIVES = ['cold', 'warm', 'quiet', 'busy', 'long', 'bright', 'grey', 'windy', 'calm', 'wet']
NOUNS = ['road', 'sky', 'house', 'wind', 'water', 'evening', 'morning', 'field', 'door', 'fire']
VERBS = ['walked to', 'ran to', 'looked at', 'cleaned', 'painted', 'visited']


def pick(rng, items):
    return items[rng.int(len(items))]


def invent_name(rng, syllables: int) -> str:
    word = ""
    for i in range(syllables):
        word += pick(rng, ONSETS) + pick(rng, VOWELS) + (pick(rng, CODAS) if i == syllables - 1 else "")
    return word[:1].upper() + word[1:]


def article(word: str) -> str:
    return f"an {word}" if re.match(r"[aeiou]", word) else f"a {word}"


def _unique_names(count: int, make, taken: set) -> list:
    names = []
    while len(names) < count:
        name = make()
        if name in taken:
            continue
        taken.add(name)
        names.append(name)
    return names


def _facts(p: dict) -> list:
    return [f"{p['name']} lives in {p['town']}.", f"{p['name']} is {article(p['job'])}.",
            f"{p['name']} is {p['age']} years old.", f"{p['name']} likes {p['food']}.",
            f"{p['name']} has {article(p['pet'])} called {p['petName']}."]


def _question_answer(rng, p: dict) -> str:
    k = rng.int(5)
    n = p["name"]
    if k == 0:
        return f"Where does {n} live? {n} lives in {p['town']}."
    if k == 1:
        return f"What does {n} do? {n} is {article(p['job'])}."
    if k == 2:
        return f"How old is {n}? {n} is {p['age']}."
    if k == 3:
        return f"What does {n} like? {n} likes {p['food']}."
    return f"Who is {p['petName']}? {p['petName']} is the {p['pet']} of {n}."


def _event(rng, cast: list) -> str:
    p = pick(rng, cast)
    q = pick(rng, [o for o in cast if o is not p]) if len(cast) > 1 else p
    k = rng.int(7)
    if k == 0:
        return f"On {pick(rng, DAYS)}, {p['name']} and {q['name']} went to {q['town']}."
    if k == 1:
        return f"{p['name']} gave {p['petName']} some {p['food']}."
    if k == 2:
        return f"{p['name']} met {q['name']} at the {pick(rng, PLACES)}."
    if k == 3:
        return f"{p['name']} said: \"I like {p['food']}, and {p['petName']} does too.\""
    if k == 4:
        return f"{p['name']} {pick(rng, VERBS)} the {pick(rng, PLACES)} with {p['petName']}."
    if k == 5:
        return f"It was {article(pick(rng, ADJECTIVES))} day in {p['town']}."
    return f"The {pick(rng, NOUNS)} was {pick(rng, ADJECTIVES)}, so {p['name']} stayed at home."


def generate_document(rng) -> str:
    people = 2 + rng.int(3)
    taken = set()
    names = _unique_names(people, lambda: invent_name(rng, 2 + rng.int(2)), taken)
    pet_names = _unique_names(people, lambda: invent_name(rng, 1 + rng.int(2)), taken)
    towns = _unique_names(people, lambda: invent_name(rng, 1 + rng.int(2)) + pick(rng, TOWN_ENDINGS), taken)
    cast = []
    for i, name in enumerate(names):
        person = {"name": name, "town": towns[i]}
        person["job"] = pick(rng, JOBS)
        person["age"] = 8 + rng.int(82)
        person["food"] = pick(rng, FOODS)
        person["pet"] = pick(rng, PETS)
        person["petName"] = pet_names[i]
        cast.append(person)
    intro = []
    for p in cast:
        facts = _facts(p)
        order = list(range(len(facts)))
        for i in range(len(order) - 1, 0, -1):
            j = rng.int(i + 1)
            order[i], order[j] = order[j], order[i]
        for i in order[:3 + rng.int(3)]:
            intro.append(facts[i])
    paragraphs = [" ".join(intro)]
    for _ in range(2 + rng.int(3)):
        sentences = []
        for _ in range(3 + rng.int(4)):
            p = pick(rng, cast)
            kind = rng.int(3)
            sentences.append(pick(rng, _facts(p)) if kind == 0 else _question_answer(rng, p) if kind == 1 else _event(rng, cast))
        paragraphs.append(" ".join(sentences))
    return "\n".join(paragraphs) + "\n"


def generate_corpus(seed: int, documents: int) -> list:
    return [generate_document(Rng(derive_seed(seed, i, "document"))) for i in range(documents)]
