"""The codec interface: the core every domain provides, plus optional capabilities.

Training, checkpoints and sampling only ever see integer ids and this interface; a new
domain is one new file in ``codecs/`` (or another package) registered by name. The core is
here; what the copy meter, the token cache, the library, scores and outputs ask of a domain
are optional capabilities with defaults (capabilities.py), inherited by ``Codec``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..errors import SamplingError
from .capabilities import Books, Constraints, Copying, Music, Streaming, Writing
from .vocab import NUM_SPECIAL, SPECIAL_IDS, Vocabulary


class Codec(Writing, Music, Constraints, Copying, Streaming, Books):
    """Turns domain items (a string, a tune, a performance) into token ids and back.

    Subclasses set ``name`` and implement ``tokenize``/``detokenize`` (item <-> tokens) and
    ``read``/``write`` (file <-> item). The vocabulary is built from a corpus by ``fit``.
    The optional capabilities (capabilities.py) have defaults a codec overrides.
    """

    name = ""
    file_suffix = ".txt"  # the codec's own file format (what ``write`` makes)
    file_options: tuple[str, ...] = ()  # corpus-reading options it takes (text: encoding,
    # max_vocab); the command line's --encoding/--max-vocab go only to codecs that list them
    documents = False  # items are whole pieces: language models train on documents
    items_per_file = False  # ``read_items`` gives several items per file (tunes, pieces);
    # corpora read such codecs' files in worker processes and cache the items
    # what a co-writing continuation (sampling/cowrite.py) may stop after: one token always;
    # codecs add their own (text: "word"; music: "bar"), judged by ``unit_done``
    units: tuple[str, ...] = ("token",)
    # a prime written as this codec reads one, shown as an example where a person types one
    # (the web studio's Prime and Write boxes); "" for plain text
    prime_example = ""

    def __init__(self, **options: Any):
        self.options = dict(options)
        self.vocab: Vocabulary | None = None

    # --- domain hooks -------------------------------------------------------------------
    def tokenize(self, item: Any) -> list[str]:
        raise NotImplementedError

    def detokenize(self, tokens: Sequence[str]) -> Any:
        raise NotImplementedError

    def read(self, path: str | Path) -> Any:
        raise NotImplementedError

    def write(self, item: Any, path: str | Path) -> None:
        raise NotImplementedError

    def read_items(self, path: str | Path) -> list[Any]:
        """Every item of one file (``items_per_file`` codecs hold several)."""
        return [self.read(path)]

    def item_to_json(self, item: Any) -> Any:
        """An item as plain JSON, for the corpus cache; items are JSON already here."""
        return item

    def item_from_json(self, data: Any) -> Any:
        return data

    def render(self, item: Any) -> str:
        """A terminal-friendly view of an item."""
        return str(item)

    # --- units of co-writing ------------------------------------------------------------
    def unit_done(self, unit: str, new: Sequence[int]) -> bool:
        """Whether the ids ``new`` that follow a prime make one whole ``unit`` (one of
        ``units``), the token that closes it included: the space after a word, a bar line.
        Asked after every new token, so the first boundary ends the unit."""
        return len(new) >= 1  # "token"

    def unit_closers(self, unit: str) -> list[int] | None:
        """The ids that can end a ``unit`` (whitespace, bar lines), or None for any id. A
        beam search tries the likeliest of them at every step, so a unit whose closing token
        is unlikely at each single step is still found."""
        return None

    def unit_constraints(self, unit: str) -> dict[str, Any]:
        """The constraints (``logits_processors``) under which a proposal of one ``unit`` is
        a whole one: ABC's bar needs ``complete_bars``, or the first bar line after one note
        would end it. None here."""
        return {}

    def next_input(self, output_id: int, history: Sequence[int]) -> int:
        """The id fed after the model answered ``output_id`` (``history``: the ids fed so
        far): the answer itself for a language model; ensemble codecs build it."""
        return int(output_id)

    # --- targets and live play (ensemble codecs override these) ------------------------
    def target_table(self) -> Any:
        """None: the target of a step is the next input id (a language model). A codec whose
        output vocabulary differs returns an int array (vocab_size,) giving, for each input
        id, the output class it stands for as the *next* input (-100 = no target)."""
        return None

    def live_input(self, values: Sequence[str], previous: Sequence[Any] | None) -> list[int]:
        """Ids to feed for one live step from the caller's values (``live.py``): here each
        value is one token of the vocabulary. ``previous`` is the model's last answer."""
        vocab = self._need_vocab()
        missing = [v for v in values if v not in vocab.index or vocab.index[v] < NUM_SPECIAL]
        if missing or not values:
            raise SamplingError(f"not in the model's vocabulary: {' '.join(missing) or '(none)'}")
        return [vocab.index[v] for v in values]

    def live_output(self, output_id: int) -> list[Any]:
        """The values one answered id stands for."""
        return [self._need_vocab().token(int(output_id))]

    def live_never(self) -> list[int]:
        """Output ids never given as a live answer: the special tokens."""
        return list(SPECIAL_IDS)

    def live_voice(self, channel: int = 0) -> Any:
        """A new ``codecs.live.LiveVoice`` that plays this codec's tokens as MIDI on
        ``channel`` (0-based) and writes a player's notes as tokens (``perform``, the
        studio's Play view); None: this codec cannot play MIDI."""
        return None

    # --- shared machinery ---------------------------------------------------------------
    def fit(self, items: Iterable[Any]) -> None:
        tokens: set[str] = set()
        for item in items:
            tokens.update(self.tokenize(item))
        self.vocab = Vocabulary.build(tokens)
        self.check_vocab()

    def grow(self, fitted: Codec) -> list[str]:
        """Append the tokens of ``fitted`` (a codec like this one, fitted to another corpus)
        that this vocabulary lacks, after its own ids, and return them. Fixed-vocabulary
        codecs (melody, performance, ensemble) fit to the same tokens, so nothing is added
        and a symbol outside them stays the codec's usual error."""
        vocab = self._need_vocab()
        added = [t for t in fitted._need_vocab().tokens if t not in vocab]
        if added:
            self.vocab = vocab.grown(added)
            self.check_vocab()
        return added

    def check_vocab(self) -> None:
        """Hook for a codec to refuse an implausible vocabulary."""

    def _need_vocab(self) -> Vocabulary:
        if self.vocab is None:
            raise RuntimeError(f"{self.name} codec has no vocabulary yet: call fit(items) first")
        return self.vocab

    def encode(self, item: Any, unknown: str = "error") -> list[int]:
        """Item -> ids. ``unknown``: "error" (name the missing tokens), "skip" or "unk"."""
        vocab = self._need_vocab()
        tokens = self.tokenize(item)
        missing = [t for t in tokens if t not in vocab]
        if missing and unknown == "error":
            shown = ", ".join(repr(t) for t in sorted(set(missing))[:10])
            raise SamplingError(
                f"{len(set(missing))} token(s) not in the model's vocabulary: {shown}; "
                "remove them or pass --unknown skip"
            )
        if unknown == "skip":
            tokens = [t for t in tokens if t in vocab]
        return [vocab.index.get(t, vocab.unk) for t in tokens]

    def decode(self, ids: Sequence[int]) -> Any:
        """Ids -> item. Special tokens are dropped."""
        vocab = self._need_vocab()
        return self.detokenize([vocab.token(int(i)) for i in ids if int(i) >= NUM_SPECIAL])

    def token_text(self, i: int) -> str:
        """The text of one token, for streaming to a terminal."""
        return "" if i < NUM_SPECIAL else self._need_vocab().token(i)

    @property
    def vocab_size(self) -> int:
        return len(self._need_vocab())

    @property
    def output_size(self) -> int:
        """Classes the model predicts; differs from vocab_size only for ensemble codecs."""
        return self.vocab_size

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "options": self.options,
                "vocab": self._need_vocab().to_json()}

    def load_state(self, data: dict[str, Any]) -> None:
        self.vocab = Vocabulary.from_json(data["vocab"])
