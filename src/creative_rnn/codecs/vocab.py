"""Vocabulary: token <-> id, with the special tokens every codec shares."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

PAD, BOS, EOS, UNK = "<pad>", "<s>", "</s>", "<unk>"
SPECIALS = (PAD, BOS, EOS, UNK)
# their ids, the same in every vocabulary; padding is 0
PAD_ID, BOS_ID, EOS_ID, UNK_ID = range(4)
SPECIAL_IDS = (PAD_ID, BOS_ID, EOS_ID, UNK_ID)
NUM_SPECIAL = len(SPECIALS)  # the first id of a real token


class Vocabulary:
    """An ordered list of string tokens. Specials take ids 0-3 so padding is always 0."""

    def __init__(self, tokens: Sequence[str]):
        # every reader prints and joins tokens as text: a codec.json edited to hold numbers
        # (or a codec whose tokenize gives them) is refused here, not at the first sample
        tokens = list(tokens)
        odd = [t for t in tokens if not isinstance(t, str)]
        if odd:
            raise ValueError(f"vocabulary tokens must be strings, not {type(odd[0]).__name__} "
                             f"({str(odd[0])[:20]})")
        self.tokens = list(SPECIALS) + [t for t in tokens if t not in SPECIALS]
        self.index = {t: i for i, t in enumerate(self.tokens)}
        if len(self.index) != len(self.tokens):
            raise ValueError("vocabulary tokens must be unique")

    @classmethod
    def build(cls, tokens: Iterable[str]) -> Vocabulary:
        """Vocabulary of the distinct tokens seen, sorted so the ids do not depend on file order."""
        return cls(sorted(set(tokens)))

    pad = property(lambda self: PAD_ID)
    bos = property(lambda self: BOS_ID)
    eos = property(lambda self: EOS_ID)
    unk = property(lambda self: UNK_ID)

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: str) -> bool:
        return token in self.index

    def id(self, token: str) -> int:
        return self.index[token]

    def token(self, i: int) -> str:
        return self.tokens[i]

    def grown(self, tokens: Iterable[str]) -> Vocabulary:
        """This vocabulary with ``tokens`` it lacks appended, in their order: every old token
        keeps its id, so a model trained on this vocabulary keeps its rows (fine-tuning)."""
        new = [t for t in dict.fromkeys(tokens) if t not in self.index]
        return Vocabulary(self.tokens[NUM_SPECIAL:] + new)

    def to_json(self) -> list[str]:
        return list(self.tokens)

    @classmethod
    def from_json(cls, tokens: list[str]) -> Vocabulary:
        if list(tokens[: len(SPECIALS)]) != list(SPECIALS):
            raise ValueError("vocabulary does not start with the special tokens")
        return cls(tokens[len(SPECIALS):])
