"""Word vectors for the embedding-based response scores (:mod:`latentrepro.metrics.responses`).

The LDEBM authors score dialogue responses with vectors read from ``data/word2vec/dd.txt``
(DailyDialog) and ``data/word2vec/smd.txt`` (SMD): ``--embedding_path`` in
``workspace/conditional_gen_DD.py``:127 and ``workspace/conditional_gen_SMD.py``:127
(yuPeiyu98/LDEBM @ 37ebc1f), loaded as text, one ``word v_1 ... v_D`` line per word
(``Word2VecEvaluator.__init__``, ``conditional_gen_DD.py``:426-439). The files are not
published and no config names their dimension or training settings; one file per dataset
suggests vectors trained (or filtered) per corpus. Here they are trained with gensim's
word2vec on a dataset's training text, and saved and loaded in the standard word2vec text
format, so pretrained vectors in that format (e.g. GoogleNews converted to text) load the
same way.

Their loader reads a word2vec header line ``COUNT DIM`` as the word ``COUNT`` with the
one-dimensional vector ``[DIM]``; that only matters if ``COUNT`` is also a token of the text.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
from gensim.models import KeyedVectors, Word2Vec


class WordVectors(Mapping[str, np.ndarray]):
    """A read-only word -> vector mapping (float32 vectors of one dimension)."""

    def __init__(self, keyed: KeyedVectors) -> None:
        self._keyed = keyed

    @property
    def dim(self) -> int:
        return int(self._keyed.vector_size)

    def __getitem__(self, word: str) -> np.ndarray:
        if word not in self._keyed.key_to_index:
            raise KeyError(word)
        return self._keyed[word]

    def __contains__(self, word: object) -> bool:
        return word in self._keyed.key_to_index

    def __iter__(self) -> Iterator[str]:
        return iter(self._keyed.index_to_key)

    def __len__(self) -> int:
        return len(self._keyed.index_to_key)

    def save(self, path: str | Path) -> None:
        """Write the vectors in word2vec text format (a ``COUNT DIM`` header, then one
        ``word v_1 ... v_D`` line per word, most frequent first)."""
        self._keyed.save_word2vec_format(str(path), binary=False)

    @classmethod
    def load(cls, path: str | Path) -> WordVectors:
        """Read vectors in word2vec text format (as written by :meth:`save`)."""
        return cls(KeyedVectors.load_word2vec_format(str(path), binary=False))


def train_word_vectors(
    sentences: Iterable[Sequence[str]],
    dim: int,
    window: int,
    min_count: int,
    epochs: int,
    seed: int,
    workers: int = 1,
) -> WordVectors:
    """Train word2vec (gensim's CBOW with negative sampling, its defaults otherwise) on
    tokenised sentences.

    With ``workers=1`` the result depends only on the sentences, the settings and ``seed``
    (not on the process's hash seed); more workers make the order of updates, and so the
    vectors, vary from run to run. Words seen fewer than ``min_count`` times get no vector.
    """
    model = Word2Vec(
        sentences=[list(s) for s in sentences],
        vector_size=dim,
        window=window,
        min_count=min_count,
        epochs=epochs,
        seed=seed,
        workers=workers,
    )
    return WordVectors(model.wv)
