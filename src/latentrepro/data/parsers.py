"""Parsers: a raw dataset directory -> its ``train``/``valid``/``test`` splits.

Every dataset the registry knows has a validation split of its own except CIFAR-10 (carved from
the end of train, see :func:`parse_cifar10`); the embedded datasets are written with all three.
"""

from __future__ import annotations

import json
import pickle
import re
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np

SPLITS = ("train", "valid", "test")


@dataclass
class Split:
    """A text split: tokenised sentences (no special tokens) and aligned integer labels.

    ``dropped`` counts raw records the parser left out, by reason (reported in stats.json).
    """

    sentences: list[list[str]]
    labels: dict[str, list[int]] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)


@dataclass
class ArraySplit:
    """Points/images: float32 ``x``, points ``[N, 2]`` or images ``[N, C, H, W]`` in [0, 1]."""

    x: np.ndarray
    labels: dict[str, np.ndarray] = field(default_factory=dict)


Splits = dict[str, Split] | dict[str, ArraySplit]


def _lines(path: Path) -> Iterator[str]:
    """Lines of a UTF-8 text file without their line ending (universal newlines)."""
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            yield line.rstrip("\n")


def _whitespace_split(path: Path) -> Split:
    """One sentence per line, tokens separated by whitespace; empty lines are dropped."""
    sentences = [line.split() for line in _lines(path)]
    kept = [tokens for tokens in sentences if tokens]
    dropped = len(sentences) - len(kept)
    return Split(kept, {}, {"empty_lines": dropped} if dropped else {})


def _labelled_split(path: Path, label: str) -> Split:
    """``label<TAB>sentence`` per line; lines without tokens are dropped."""
    sentences: list[list[str]] = []
    values: list[int] = []
    dropped = 0
    for line in _lines(path):
        value, _, text = line.partition("\t")
        tokens = text.split()
        if not tokens:
            dropped += 1
            continue
        sentences.append(tokens)
        values.append(int(value))
    return Split(sentences, {label: values}, {"empty_lines": dropped} if dropped else {})


def parse_ptb(raw: Path) -> dict[str, Split]:
    """Mikolov's PTB: ``ptb.{train,valid,test}.txt``, whitespace tokens, ``<unk>`` kept as is."""
    return {split: _whitespace_split(raw / f"ptb.{split}.txt") for split in SPLITS}


def parse_yahoo(raw: Path) -> dict[str, Split]:
    """Yahoo answers: ``train.txt``/``val.txt``/``test.txt``, whitespace tokens, no labels."""
    names = {"train": "train.txt", "valid": "val.txt", "test": "test.txt"}
    return {split: _whitespace_split(raw / name) for split, name in names.items()}


def parse_snli(raw: Path) -> dict[str, Split]:
    """SNLI sentences: ``snli.{train,valid,test}.txt``, whitespace tokens, no labels."""
    return {split: _whitespace_split(raw / f"snli.{split}.txt") for split in SPLITS}


def parse_yelp(raw: Path) -> dict[str, Split]:
    """Yelp reviews: ``yelp.{split}.txt`` as ``label<TAB>review``; ``sentiment`` as in the file."""
    return {split: _labelled_split(raw / f"yelp.{split}.txt", "sentiment") for split in SPLITS}


def parse_short_yelp(raw: Path) -> dict[str, Split]:
    """Short Yelp: ``short_yelp.{split}.txt`` as ``label<TAB>sentence``; ``sentiment`` 0/1."""
    return {
        split: _labelled_split(raw / f"short_yelp.{split}.txt", "sentiment") for split in SPLITS
    }


def parse_short_yelp_10k(raw: Path) -> dict[str, Split]:
    """Short Yelp with the 10k training subset ``short_yelp.train.10000.txt``."""
    names = {
        "train": "short_yelp.train.10000.txt",
        "valid": "short_yelp.valid.txt",
        "test": "short_yelp.test.txt",
    }
    return {split: _labelled_split(raw / name, "sentiment") for split, name in names.items()}


def parse_synthetic_text(raw: Path) -> dict[str, Split]:
    """The generated latent-class corpus: ``{split}.txt`` as ``class<TAB>sentence``."""
    return {split: _labelled_split(raw / f"{split}.txt", "class") for split in SPLITS}


_DAILYDIALOG_FOLDERS = {"train": "train", "valid": "validation", "test": "test"}
_EOU = "__eou__"


def _dailydialog_split(folder: Path, name: str) -> Split:
    texts = list(_lines(folder / f"dialogues_{name}.txt"))
    acts = list(_lines(folder / f"dialogues_act_{name}.txt"))
    emotions = list(_lines(folder / f"dialogues_emotion_{name}.txt"))
    if not len(texts) == len(acts) == len(emotions):
        raise ValueError(f"DailyDialog {name}: text/act/emotion files differ in line count")
    split = Split([], {"act": [], "emotion": []})
    skipped_dialogues = skipped_utterances = 0
    for text, act_line, emotion_line in zip(texts, acts, emotions, strict=True):
        pieces = text.split(_EOU)
        if not pieces[-1].strip():
            pieces.pop()
        utterances = [piece.strip().lower().split() for piece in pieces]
        act = [int(value) for value in act_line.split()]
        emotion = [int(value) for value in emotion_line.split()]
        if not utterances:
            continue
        if not len(utterances) == len(act) == len(emotion):
            skipped_dialogues += 1
            skipped_utterances += len(utterances)
            continue
        if not (all(1 <= a <= 4 for a in act) and all(0 <= e <= 6 for e in emotion)):
            raise ValueError(f"DailyDialog {name}: label out of range in {act} / {emotion}")
        split.sentences.extend(utterances)
        split.labels["act"].extend(a - 1 for a in act)
        split.labels["emotion"].extend(emotion)
    if skipped_dialogues:
        split.dropped = {
            "dialogues_with_label_count_mismatch": skipped_dialogues,
            "utterances_in_skipped_dialogues": skipped_utterances,
        }
    return split


def parse_dailydialog(raw: Path) -> dict[str, Split]:
    """DailyDialog at utterance level, with separate ``act`` and ``emotion`` label lists.

    Utterances are split on ``__eou__`` and lowercased; the original tokenisation is kept.
    Acts 1-4 (inform, question, directive, commissive) are stored as 0-3; emotions 0-6 (none,
    anger, disgust, fear, happiness, sadness, surprise) as in the files. A dialogue whose label
    count differs from its utterance count (train line 7852 of the release) is skipped and
    counted in ``dropped``. The official validation split is ``valid``.
    """
    return {
        split: _dailydialog_split(raw / folder, folder)
        for split, folder in _DAILYDIALOG_FOLDERS.items()
    }


SMD_INTENTS = ("navigate", "schedule", "weather")
_SMD_FILES = {
    "train": "kvret_train_public.json",
    "valid": "kvret_dev_public.json",
    "test": "kvret_test_public.json",
}
_WORD_OR_PUNCT = re.compile(r"\w+(?:'\w+)*|[^\w\s]")


def tokenize_simple(text: str) -> list[str]:
    """Lowercase, then split into words (apostrophes kept inside) and single punctuation marks."""
    return _WORD_OR_PUNCT.findall(text.lower())


def _smd_split(path: Path) -> Split:
    dialogues = json.loads(path.read_text(encoding="utf-8"))
    split = Split([], {"intent": []})
    empty = 0
    for dialogue in dialogues:
        intent = SMD_INTENTS.index(dialogue["scenario"]["task"]["intent"])
        for turn in dialogue["dialogue"]:
            tokens = tokenize_simple(turn["data"]["utterance"])
            if not tokens:
                empty += 1
                continue
            split.sentences.append(tokens)
            split.labels["intent"].append(intent)
    if empty:
        split.dropped = {"empty_utterances": empty}
    return split


def parse_smd(raw: Path) -> dict[str, Split]:
    """SMD/KVRET at utterance level (driver and assistant turns), label ``intent``.

    Intents map to 0-2 in the fixed order navigate, schedule, weather. Text is lowercased and
    split into words and punctuation (:func:`tokenize_simple`); empty utterances are dropped.
    The official dev split is ``valid``.
    """
    return {split: _smd_split(raw / name) for split, name in _SMD_FILES.items()}


def parse_npz_splits(raw: Path) -> dict[str, ArraySplit]:
    """Embedded points/images: ``{split}.npz`` holding ``x`` and ``label_<name>`` arrays."""
    splits = {}
    for split in SPLITS:
        with np.load(raw / f"{split}.npz", allow_pickle=False) as data:
            labels = {key.removeprefix("label_"): data[key] for key in data.files if key != "x"}
            splits[split] = ArraySplit(data["x"], labels)
    return splits


CIFAR10_VALID_SIZE = 5000
_CIFAR10_DIR = "cifar-10-batches-py"
# The only globals CIFAR-10's pickles (Python 2 and numpy arrays) may name.
_CIFAR10_PICKLE_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
}


class _BatchUnpickler(pickle.Unpickler):
    """Unpickler that refuses every global except the few a CIFAR-10 batch needs."""

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in _CIFAR10_PICKLE_GLOBALS:
            raise pickle.UnpicklingError(f"CIFAR-10 batch names a forbidden global {module}.{name}")
        return super().find_class(module, name)


def _cifar10_batch(tar: tarfile.TarFile, name: str) -> tuple[np.ndarray, np.ndarray]:
    handle: IO[bytes] | None = tar.extractfile(f"{_CIFAR10_DIR}/{name}")
    if handle is None:
        raise ValueError(f"CIFAR-10 archive member {name} is not a regular file")
    batch = _BatchUnpickler(handle, encoding="bytes").load()
    images = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
    return images, np.asarray(batch[b"labels"], dtype=np.int64)


def _images_to_float(images: np.ndarray) -> np.ndarray:
    return images.astype(np.float32) / np.float32(255.0)


FASHION_MNIST_VALID_SIZE = 5_000


def _idx(path: Path, magic: int) -> np.ndarray:
    """An IDX array (LeCun's MNIST format): big-endian magic, dimension sizes, uint8 data."""
    data = path.read_bytes()
    found, ndim = int.from_bytes(data[:4], "big"), data[3]
    if found != magic:
        raise ValueError(f"{path}: IDX magic {found} where {magic} was expected")
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    values = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if values.size != int(np.prod(shape)):
        raise ValueError(f"{path}: {values.size} values for an IDX array of shape {shape}")
    return values.reshape(shape)


def parse_fashion_mnist(raw: Path) -> dict[str, ArraySplit]:
    """Fashion-MNIST from its IDX files: ``x`` float32 ``[N, 1, 28, 28]`` in [0, 1], label
    ``class`` 0-9. The official release has train (60k) and test (10k); the last 5,000 training
    images become ``valid``."""
    splits = {}
    for name, prefix in (("train", "train"), ("test", "t10k")):
        images = _idx(raw / f"{prefix}-images-idx3-ubyte", 2051)[:, None]
        labels = _idx(raw / f"{prefix}-labels-idx1-ubyte", 2049).astype(np.int64)
        if len(images) != len(labels):
            raise ValueError(f"{raw}: {len(images)} {prefix} images but {len(labels)} labels")
        splits[name] = (images, labels)
    (train_x, train_y), (test_x, test_y) = splits["train"], splits["test"]
    cut = len(train_y) - FASHION_MNIST_VALID_SIZE
    return {
        "train": ArraySplit(_images_to_float(train_x[:cut]), {"class": train_y[:cut]}),
        "valid": ArraySplit(_images_to_float(train_x[cut:]), {"class": train_y[cut:]}),
        "test": ArraySplit(_images_to_float(test_x), {"class": test_y}),
    }


def parse_cifar10(raw: Path) -> dict[str, ArraySplit]:
    """CIFAR-10 from ``cifar-10-python.tar.gz``: ``x`` float32 CHW ``[N, 3, 32, 32]`` in [0, 1].

    ``data_batch_1..5`` form train and ``test_batch`` test. CIFAR-10 has no validation split: the
    last 5,000 training images (the end of ``data_batch_5``) become ``valid`` and train keeps the
    first 45,000. Label ``class`` is 0-9. The batches are pickles, read with an unpickler that only
    admits numpy array reconstruction (the archive's sha256 is checked when it is fetched).
    """
    with tarfile.open(raw / "cifar-10-python.tar.gz", "r:*") as tar:
        batches = [_cifar10_batch(tar, f"data_batch_{index}") for index in range(1, 6)]
        test_x, test_y = _cifar10_batch(tar, "test_batch")
    train_x = np.concatenate([images for images, _ in batches])
    train_y = np.concatenate([labels for _, labels in batches])
    cut = len(train_y) - CIFAR10_VALID_SIZE
    return {
        "train": ArraySplit(_images_to_float(train_x[:cut]), {"class": train_y[:cut]}),
        "valid": ArraySplit(_images_to_float(train_x[cut:]), {"class": train_y[cut:]}),
        "test": ArraySplit(_images_to_float(test_x), {"class": test_y}),
    }
