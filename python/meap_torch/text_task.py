"""Port of src/data/textTask.ts and src/data/charTokenizer.ts: character-level windows of the generated corpus or
a user text (normalised as src/util/text.ts does), [BOS] before every generated document, a tenth held out."""
import math
import re
import unicodedata

from .corpus import generate_corpus
from .rng import Rng, derive_seed

PAD, BOS, MASK, UNK = 0, 1, 2, 3
SPECIAL_COUNT = 4


def normalize_text(text: str) -> str:
    text = re.sub(r"^\ufeff", "", text)
    text = unicodedata.normalize("NFC", text)
    return re.sub(r"\r\n?", "\n", text).replace("\t", " ")


class CharTokenizer:
    def __init__(self, alphabet: str):
        self.ids = {c: SPECIAL_COUNT + i for i, c in enumerate(alphabet)}
        self.size = SPECIAL_COUNT + len(alphabet)

    def encode(self, text: str) -> list:
        return [self.ids.get(c, UNK) for c in text]


def _encode_documents(documents: list, tokenizer) -> list:
    out = []
    for d in documents:
        out.append(BOS)
        out += tokenizer.encode(d)
    return out


def text_streams(options: dict, tokenizer) -> tuple:
    """(train ids, held-out ids)."""
    source = options["source"]
    if source["kind"] == "generated":
        seed, n = source["seed"], source["documents"]
        return (_encode_documents(generate_corpus(seed, n), tokenizer),
                _encode_documents(generate_corpus(derive_seed(seed, "held-out"), math.ceil(n / 10)), tokenizer))
    ids = tokenizer.encode(normalize_text(source["text"]))
    held = len(ids) // 10
    return ids[:len(ids) - held], ids[len(ids) - held:]


def _window(stream: list, out: list, T: int, rng) -> None:
    if len(stream) < T + 1:
        raise ValueError(f"the text is too short for context T = {T}")
    start = rng.int(len(stream) - T)
    out += stream[start:start + T + 1]


def text_training_batch(train: list, B: int, T: int, rng) -> list:
    out = []
    for _ in range(B):
        _window(train, out, T, rng)
    return out


def text_eval_windows(held_out: list, count: int, T: int, seed: int) -> list:
    out = []
    rng = Rng(seed)
    for _ in range(count):
        _window(held_out, out, T, rng)
    return out
