r"""Turning captions into arrays of word ids: a tokenizer and its vocabulary.

A text encoder cannot read letters; it looks up one learned vector per **token**. Here a
token is a lower-case word (punctuation is dropped), and the **vocabulary** is the list
of words seen in the training captions, each with an integer id. Id 0 is reserved for
padding (so captions of different lengths fit in one rectangular array) and id 1 for the
unknown word ``<unk>``.

Why it lives with the data: the vocabulary is a property of the training set (the words
its captions use), and encoding captions into id arrays is data preparation, the text
counterpart of turning images into float arrays. It has no parameters to learn; the
model's word vectors live in the text encoder.

Unknown words, by design. A word that no training caption used has no trained vector.
``encode(..., unknown="error")`` (the default) refuses it with a ``KeyError`` naming the
word and the closest words the vocabulary knows, because a prompt with such a word
silently costs accuracy; ``unknown="unk"`` maps it to ``<unk>`` (id 1) for readers who
want to see what that costs; ``unknown="drop"`` leaves it out.

Explained in chapter 12.
"""
from __future__ import annotations

import difflib
import re
from collections import Counter
from typing import Iterable, Sequence

import numpy as np

from cnnlib._validate import check_in, check_positive_int

__all__ = ["PAD", "UNK", "tokenize", "Vocabulary"]

PAD, UNK = "<pad>", "<unk>"
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def tokenize(text: str) -> list[str]:
    """Split a caption into lower-case words; punctuation separates words and is dropped.

    >>> tokenize("Red circle, upper-left corner!")
    ['red', 'circle', 'upper', 'left', 'corner']
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__} ({text!r})")
    return _WORD.findall(text.lower())


class Vocabulary:
    """The words of a set of captions, each with an id: ``<pad>`` = 0, ``<unk>`` = 1,
    then the words in order of decreasing frequency (ties alphabetically).

    Build it from the training captions with :meth:`from_captions`; turn captions into
    a padded id array with :meth:`encode`.
    """

    def __init__(self, words: Sequence[str]):
        words = list(words)
        for w in words:
            if not isinstance(w, str) or not w or w in (PAD, UNK):
                raise ValueError(f"words must be non-empty strings other than {PAD!r} "
                                 f"and {UNK!r}, got {w!r}")
        if len(set(words)) != len(words):
            dup = sorted(w for w, c in Counter(words).items() if c > 1)
            raise ValueError(f"words must be distinct, got repeats: {dup}")
        self.itos: list[str] = [PAD, UNK, *words]
        self.stoi: dict[str, int] = {w: i for i, w in enumerate(self.itos)}

    @classmethod
    def from_captions(cls, captions: Iterable[str], min_count: int = 1) -> "Vocabulary":
        """Every word used at least ``min_count`` times in ``captions``."""
        min_count = check_positive_int(min_count, "min_count")
        counts = Counter(w for text in captions for w in tokenize(text))
        if not counts:
            raise ValueError("captions must hold at least one word")
        words = sorted((w for w, c in counts.items() if c >= min_count),
                       key=lambda w: (-counts[w], w))
        return cls(words)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, word: str) -> bool:
        return word in self.stoi and word not in (PAD, UNK)

    def __repr__(self) -> str:
        shown = ", ".join(self.itos[2:12])
        more = ", ..." if len(self) > 12 else ""
        return f"Vocabulary({len(self)} ids: {PAD}, {UNK}, {shown}{more})"

    def unknown_words(self, text: str) -> list[str]:
        """The words of ``text`` that the vocabulary does not know."""
        return [w for w in tokenize(text) if w not in self]

    def ids(self, text: str, unknown: str = "error") -> list[int]:
        """The ids of one caption's words (see :meth:`encode` for ``unknown``)."""
        check_in(unknown, "unknown", ("error", "unk", "drop"))
        out = []
        for w in tokenize(text):
            i = self.stoi.get(w)
            if i is None or w in (PAD, UNK):
                if unknown == "error":
                    close = difflib.get_close_matches(w, self.itos[2:], n=3)
                    hint = f" (close: {', '.join(close)})" if close else ""
                    raise KeyError(f"the word {w!r} in {text!r} is not in the vocabulary "
                                   f"of {len(self) - 2} training words{hint}; a text "
                                   f"encoder has no trained vector for it. Use the "
                                   f"captions' words, or pass unknown='unk' to map it to "
                                   f"{UNK}")
                if unknown == "unk":
                    out.append(self.stoi[UNK])
                continue
            out.append(i)
        return out

    def encode(self, texts: Sequence[str] | str, length: int | None = None,
               unknown: str = "error") -> np.ndarray:
        """Captions as a padded int64 array of ids, shape (len(texts), L).

        length : L, the number of columns; None gives the longest caption's length.
            Longer captions are cut to L words.
        unknown : 'error' (a ``KeyError`` naming the word), 'unk' (id 1) or 'drop'.

        Row i holds the ids of caption i followed by zeros (``<pad>``). A caption with
        no known word is all padding; its bag of words is empty.
        """
        if isinstance(texts, str):
            texts = [texts]
        rows = [self.ids(t, unknown) for t in texts]
        if length is None:
            length = max((len(r) for r in rows), default=0)
            length = max(length, 1)
        else:
            length = check_positive_int(length, "length")
        out = np.zeros((len(rows), length), dtype=np.int64)
        for i, r in enumerate(rows):
            r = r[:length]
            out[i, :len(r)] = r
        return out

    def decode(self, ids: Sequence[int] | np.ndarray) -> str:
        """The words of one row of ids, padding left out."""
        arr = np.asarray(ids)
        if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
            raise ValueError(f"ids must be a 1-D integer array, got shape {arr.shape} and "
                             f"dtype {arr.dtype}")
        if arr.size and (arr.min() < 0 or arr.max() >= len(self)):
            raise ValueError(f"ids must lie in [0, {len(self)}), got values from "
                             f"{arr.min()} to {arr.max()}")
        return " ".join(self.itos[i] for i in arr if i != 0)
