"""From parsed splits to tensors: vocabulary and padded token ids for text, arrays otherwise.

Outputs are byte-deterministic: the same raw files and settings give identical ``.pt``/``.json``.

Text splits are cut at the dataset's ``max_length`` words, which is what training sees. He et
al. (2019) and DG-VAE evaluate on whole sentences (their ``MonoTextData`` cuts nothing,
vae-lagging-encoder @ cdc4eb9 text.py:256), so every split but train is also written whole, as
``{split}_whole.pt``; ``evaluate.whole_sentences`` picks it (:func:`evaluation_split_file`).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from latentrepro.data.parsers import ArraySplit, Split
from latentrepro.data.registry import DatasetSpec
from latentrepro.io import read_json, save_torch, write_json

PAD, BOS, EOS, UNK = "<pad>", "<s>", "</s>", "<unk>"
SPECIALS = (PAD, BOS, EOS, UNK)
#: File-name suffix of the untruncated evaluation splits (``test_whole.pt``).
WHOLE = "_whole"


class Vocab:
    """Word <-> id map with ``<pad>``=0, ``<s>``=1, ``</s>``=2, ``<unk>``=3 first."""

    PAD_ID, BOS_ID, EOS_ID, UNK_ID = range(len(SPECIALS))

    def __init__(self, words: Sequence[str]) -> None:
        """``words`` are the entries after the specials, in id order."""
        self.itos: list[str] = [*SPECIALS, *words]
        self.stoi: dict[str, int] = {word: index for index, word in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            raise ValueError("vocabulary entries must be distinct and must not repeat a special")

    @classmethod
    def build(cls, sentences: Iterable[Sequence[str]], max_size: int) -> Vocab:
        """Keep the ``max_size - 4`` most frequent words (``max_size`` counts the specials).

        Ties in frequency are broken alphabetically, so the result is deterministic. Words equal
        to a special (e.g. PTB's ``<unk>``) map to that special.
        """
        if max_size < len(SPECIALS):
            raise ValueError(f"max_size must be at least {len(SPECIALS)}, got {max_size}")
        counts = Counter(word for sentence in sentences for word in sentence)
        for special in SPECIALS:
            counts.pop(special, None)
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        return cls([word for word, _ in ranked[: max_size - len(SPECIALS)]])

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, tokens: Iterable[str]) -> list[int]:
        """Ids of ``tokens``; unknown words become ``<unk>``. No ``<s>``/``</s>`` are added."""
        return [self.stoi.get(token, self.UNK_ID) for token in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Words of ``ids``, skipping ``<s>`` and ``<pad>`` and stopping at the first ``</s>``."""
        words = []
        for index in ids:
            index = int(index)
            if index == self.EOS_ID:
                break
            if index not in (self.BOS_ID, self.PAD_ID):
                words.append(self.itos[index])
        return words

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write ``{"itos": [...]}`` as JSON, atomically."""
        write_json(path, {"itos": self.itos})

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Vocab:
        """Read a vocabulary written by :meth:`save`."""
        itos = read_json(path)["itos"]
        if tuple(itos[: len(SPECIALS)]) != SPECIALS:
            raise ValueError(f"{path}: vocabulary does not start with {SPECIALS}")
        return cls(itos[len(SPECIALS) :])


def _ids(sentence: Sequence[str], vocab: Vocab, max_length: int) -> list[int]:
    """``<s>``, the ids of the first ``max_length`` words, ``</s>``: the authors' ``pad_to``
    cut (LDEBM @ 37ebc1f workspace/utils/dataloader_bases.py:59-65) at ``max_length + 2``."""
    return [Vocab.BOS_ID, *vocab.encode(sentence[:max_length]), Vocab.EOS_ID]


def numericalise(split: Split, vocab: Vocab, max_length: int | None) -> dict[str, Any]:
    """Pad ``<s> w1..wn </s>`` rows to ``max_length + 2`` ids.

    Sentences longer than ``max_length`` words keep their first ``max_length`` words; with
    ``max_length`` None nothing is cut and rows are as wide as the longest sentence. Returns
    ``tokens`` LongTensor ``[N, max_length + 2]``, ``lengths`` LongTensor ``[N]`` (``n + 2``),
    ``labels`` ``{name: LongTensor [N]}`` and ``truncated`` (how many sentences were cut).
    A response split adds ``contexts`` and ``context_turns`` (:func:`numericalise_contexts`).
    """
    cut = max_length
    if max_length is None:
        max_length = max((len(sentence) for sentence in split.sentences), default=0)
    tokens = np.full((len(split.sentences), max_length + 2), Vocab.PAD_ID, dtype=np.int64)
    lengths = np.empty(len(split.sentences), dtype=np.int64)
    truncated = 0
    for row, sentence in enumerate(split.sentences):
        truncated += len(sentence) > max_length
        ids = _ids(sentence, vocab, max_length)
        tokens[row, : len(ids)] = ids
        lengths[row] = len(ids)
    result = {
        "tokens": torch.from_numpy(tokens),
        "lengths": torch.from_numpy(lengths),
        "labels": {
            name: torch.tensor(values, dtype=torch.long) for name, values in split.labels.items()
        },
        "truncated": truncated,
    }
    if split.contexts is not None:
        result.update(numericalise_contexts(split, vocab, cut))
    return result


def numericalise_contexts(split: Split, vocab: Vocab, max_length: int | None) -> dict[str, Any]:
    """The contexts of a response split as ``contexts`` LongTensor ``[N, C, W]`` and
    ``context_turns`` LongTensor ``[N]`` (real turns, at least 1).

    ``C`` is ``split.backward``; a context of fewer turns is followed by all-PAD rows, as the
    authors' ``_prepare_batch`` fills ``vec_context`` (conditional_gen_DD.py:377-404). Every
    turn is ``<s> w1..wn </s>`` cut like a sentence, so ``W`` is ``max_length + 2``, or the
    longest turn's ids when ``max_length`` is None.
    """
    assert split.contexts is not None
    if len(split.contexts) != len(split.sentences):
        raise ValueError(
            f"{len(split.contexts)} contexts for {len(split.sentences)} responses; "
            "a response split has one context per sentence"
        )
    for row, context in enumerate(split.contexts):
        if not 1 <= len(context) <= split.backward:
            raise ValueError(
                f"context of response {row} has {len(context)} turns; "
                f"1 to backward={split.backward} expected"
            )
    if max_length is None:
        turns = (turn for context in split.contexts for turn in context)
        max_length = max((len(turn) for turn in turns), default=0)
    contexts = np.full(
        (len(split.contexts), split.backward, max_length + 2), Vocab.PAD_ID, dtype=np.int64
    )
    counts = np.empty(len(split.contexts), dtype=np.int64)
    for row, context in enumerate(split.contexts):
        counts[row] = len(context)
        for turn, words in enumerate(context):
            ids = _ids(words, vocab, max_length)
            contexts[row, turn, : len(ids)] = ids
    return {"contexts": torch.from_numpy(contexts), "context_turns": torch.from_numpy(counts)}


def _raw_checksums(raw_dir: Path) -> dict[str, str]:
    """sha256 per raw file from ``raw_dir/manifest.json`` (present once a fetch has completed)."""
    manifest = raw_dir / "manifest.json"
    if not manifest.is_file():
        raise FileNotFoundError(f"{manifest} is missing: fetch the dataset completely first")
    return {path: entry["sha256"] for path, entry in read_json(manifest)["files"].items()}


def _label_counts(labels: dict[str, Any]) -> dict[str, dict[str, int]]:
    return {
        name: {
            str(value): int(count)
            for value, count in zip(*np.unique(values, return_counts=True), strict=True)
        }
        for name, values in labels.items()
    }


def _text_stats(split: Split, vocab: Vocab, truncated: int) -> dict[str, Any]:
    """Counts over the untruncated sentences (so ``unk_rate`` does not depend on max_length)."""
    tokens = sum(len(sentence) for sentence in split.sentences)
    unknown = sum(
        vocab.stoi.get(word, Vocab.UNK_ID) == Vocab.UNK_ID
        for sentence in split.sentences
        for word in sentence
    )
    return {
        "sentences": len(split.sentences),
        "tokens": tokens,
        "mean_length": tokens / len(split.sentences) if split.sentences else 0.0,
        "unk_rate": unknown / tokens if tokens else 0.0,
        "truncated": truncated,
        "dropped": split.dropped,
        "label_counts": _label_counts(split.labels),
    }


def _context_stats(split: Split, max_length: int) -> dict[str, Any]:
    """Counts of a response split: responses, dialogues, context turns (mean and histogram),
    context turns cut at ``max_length`` words, and the records ``kept`` although unusual."""
    assert split.contexts is not None
    turns = Counter(len(context) for context in split.contexts)
    cut = sum(len(turn) > max_length for context in split.contexts for turn in context)
    return {
        "responses": len(split.sentences),
        "dialogues": split.dialogue_count(),
        "mean_context_turns": (
            sum(n * count for n, count in turns.items()) / len(split.contexts)
            if split.contexts
            else 0.0
        ),
        "context_turns": {str(n): turns[n] for n in sorted(turns)},
        "context_turns_truncated": cut,
        "kept": split.kept,
    }


def tokenize_dataset(
    raw_dir: Path, out_dir: Path, spec: DatasetSpec, vocab_size: int, max_length: int
) -> dict[str, Any]:
    """Parse a fetched text dataset and write ``{split}.pt``, ``vocab.json`` and ``stats.json``.

    The vocabulary (``vocab_size`` entries including specials) is built on train only (its
    :meth:`~latentrepro.data.parsers.Split.vocabulary_sentences`). Each ``{split}.pt`` holds
    ``tokens``, ``lengths`` and ``labels`` as in :func:`numericalise`, cut at ``max_length``
    words, and for a response split ``contexts`` and ``context_turns``, its turns cut alike;
    every split but train is also written uncut as ``{split}_whole.pt``. ``stats.json`` has
    per-split counts (response splits add theirs, :func:`_context_stats`), the vocabulary size,
    ``max_length`` and the raw files' sha256 values; it is returned as well.
    """
    if spec.kind != "text":
        raise ValueError(f"{spec.name} is a {spec.kind} dataset; use prepare_arrays")
    raw_dir, out_dir = Path(raw_dir), Path(out_dir)
    checksums = _raw_checksums(raw_dir)
    assert spec.parser is not None  # every text entry has a parser
    splits = spec.parser(raw_dir)
    train = splits["train"]
    assert isinstance(train, Split)
    vocab = Vocab.build(train.vocabulary_sentences(), vocab_size)
    per_split = {}
    for name, split in splits.items():
        assert isinstance(split, Split)
        tensors = numericalise(split, vocab, max_length)
        truncated = tensors.pop("truncated")
        save_torch(out_dir / f"{name}.pt", tensors)
        if name != "train":
            whole = numericalise(split, vocab, None)
            whole.pop("truncated")
            save_torch(out_dir / f"{name}{WHOLE}.pt", whole)
        per_split[name] = _text_stats(split, vocab, truncated)
        if split.contexts is not None:
            per_split[name].update(_context_stats(split, max_length))
    vocab.save(out_dir / "vocab.json")
    stats = {
        "dataset": spec.name,
        "vocab_size": len(vocab),
        "max_length": max_length,
        "raw_sha256": checksums,
        "splits": per_split,
    }
    write_json(out_dir / "stats.json", stats)
    return stats


def evaluation_split_file(data_dir: Path, split: str, whole: bool) -> tuple[Path, str]:
    """The file of a text ``split`` to evaluate on, whole or cut at the training length, and
    how its sentences were cut (for table captions)."""
    stats = read_json(data_dir / "stats.json")
    if not whole:
        counts = stats["splits"][split]
        return data_dir / f"{split}.pt", (
            f"{split} sentences cut at {stats['max_length']} words as in training "
            f"({counts['truncated']:,} of {counts['sentences']:,} cut)"
        )
    path = data_dir / f"{split}{WHOLE}.pt"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: evaluate.whole_sentences needs the uncut {split} split, which "
            "tokenisation writes for every split but train (rerun `latentrepro tokenize`)"
        )
    return path, f"{split} sentences whole (none cut)"


def prepare_arrays(raw_dir: Path, out_dir: Path, spec: DatasetSpec) -> dict[str, Any]:
    """Parse a fetched points/images dataset and write ``{split}.pt`` and ``stats.json``.

    Each ``{split}.pt`` holds ``x`` (FloatTensor; points ``[N, 2]``, images ``[N, C, H, W]`` in
    [0, 1]) and ``labels`` ``{name: LongTensor [N]}``. Returns the stats.
    """
    if spec.kind == "text":
        raise ValueError(f"{spec.name} is a text dataset; use tokenize_dataset")
    if spec.parser is None:
        raise ValueError(f"{spec.name} is a {spec.kind} entry: its files are used as fetched")
    raw_dir, out_dir = Path(raw_dir), Path(out_dir)
    checksums = _raw_checksums(raw_dir)
    per_split = {}
    for name, split in spec.parser(raw_dir).items():
        assert isinstance(split, ArraySplit)
        x = np.ascontiguousarray(split.x, dtype=np.float32)
        labels = {key: np.asarray(values, dtype=np.int64) for key, values in split.labels.items()}
        save_torch(
            out_dir / f"{name}.pt",
            {
                "x": torch.from_numpy(x),
                "labels": {key: torch.from_numpy(values) for key, values in labels.items()},
            },
        )
        per_split[name] = {
            "examples": int(x.shape[0]),
            "shape": list(x.shape[1:]),
            "x_min": float(x.min()),
            "x_max": float(x.max()),
            "x_mean": float(x.mean(dtype=np.float64)),
            "label_counts": _label_counts(labels),
        }
    stats = {"dataset": spec.name, "raw_sha256": checksums, "splits": per_split}
    write_json(out_dir / "stats.json", stats)
    return stats
