"""A word-level tokenizer over a fixed vocabulary: one whitespace-separated word is one token.

The tiny from-scratch policies of `guardopt.align.model` work on synthetic tasks whose vocabulary is
known in advance (e.g. `guardopt.problems.safe_steps.SAFE_STEPS_VOCAB`), so a table lookup is the
whole tokenizer. By convention the padding token has id 0.
"""

from __future__ import annotations

from collections.abc import Sequence

from guardopt.core.errors import InputDataError, InvalidParameterError

__all__ = ["Tokenizer"]


class Tokenizer:
    """Map words to ids and back.

    Args:
        vocab: The words, each once and without whitespace; ``vocab[0]`` is the padding token.
        bos: The beginning-of-sequence word (must be in ``vocab``).
        eos: The end-of-sequence word (must be in ``vocab``).

    Example:
        >>> tok = Tokenizer(["<pad>", "<bos>", "<eos>", "a", "b"])
        >>> tok.decode(tok.encode("a b a"))
        'a b a'
    """

    def __init__(self, vocab: Sequence[str], bos: str = "<bos>", eos: str = "<eos>") -> None:
        words = list(vocab)
        if len(words) < 3 or any(not isinstance(w, str) or not w or any(c.isspace() for c in w) for w in words):
            raise InvalidParameterError("vocab", "Tokenizer", "at least 3 non-empty words without spaces", vocab)
        if len(set(words)) != len(words):
            raise InvalidParameterError("vocab", "Tokenizer", "words without duplicates", vocab)
        for name, w in (("bos", bos), ("eos", eos)):
            if w not in words:
                raise InvalidParameterError(name, "Tokenizer", "a word of the vocabulary", w)
        self.vocab: tuple[str, ...] = tuple(words)
        self._ids = {w: i for i, w in enumerate(words)}
        self.pad_id = 0
        self.bos_id = self._ids[bos]
        self.eos_id = self._ids[eos]

    def __len__(self) -> int:
        return len(self.vocab)

    def id(self, word: str) -> int:
        """The id of one word."""
        if not isinstance(word, str) or word not in self._ids:
            raise InputDataError(f"Tokenizer: {word!r} is not in the vocabulary.")
        return self._ids[word]

    def encode(self, text: str | Sequence[str], bos: bool = False) -> list[int]:
        """Ids of a space-separated string or a list of words (``bos=True`` prepends BOS)."""
        words = text.split() if isinstance(text, str) else list(text)
        return ([self.bos_id] if bos else []) + [self.id(w) for w in words]

    def tokens(self, ids: Sequence[int]) -> list[str]:
        """Words of a list of ids."""
        out = []
        for x in ids:
            try:
                i = int(x)
                integral = i == x
            except (TypeError, ValueError, RuntimeError):
                integral = False
            if not integral:
                raise InputDataError(f"Tokenizer: ids must be whole numbers. Got {x!r}.")
            if not 0 <= i < len(self.vocab):
                raise InputDataError(f"Tokenizer: id {i} is outside the vocabulary of {len(self.vocab)} words.")
            out.append(self.vocab[i])
        return out

    def decode(self, ids: Sequence[int], skip_special: bool = True) -> str:
        """The space-joined words of ``ids`` (padding and BOS dropped when ``skip_special``)."""
        drop = {self.pad_id, self.bos_id} if skip_special else set()
        return " ".join(w for i, w in zip(ids, self.tokens(ids)) if int(i) not in drop)
