"""Parsers: a raw dataset directory -> its ``train``/``valid``/``test`` splits.

Every dataset the registry knows has a validation split of its own except CIFAR-10 (carved from
the end of train, see :func:`parse_cifar10`); the embedded datasets are written with all three.
"""

from __future__ import annotations

import json
import pickle
import re
import tarfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

SPLITS = ("train", "valid", "test")


#: The dialogue-start turn of a context, the authors' BOD (LDEBM @ 37ebc1f
#: workspace/conditional_gen_DD.py:163,248); it numericalises to ``<s> <d> </s>``.
DIALOGUE_START = "<d>"
#: Turns of context before a response, the authors' ``backward_size`` (conditional_gen_DD.py:124).
CONTEXT_WINDOW = 5


@dataclass
class Split:
    """A text split: tokenised sentences (no special tokens) and aligned integer labels.

    ``dropped`` counts raw records the parser left out, by reason; ``kept`` counts records kept
    although unusual (e.g. empty utterances), by reason; both are reported in stats.json.
    Response splits have ``contexts``: per sentence (a response) its previous turns, oldest
    first, at most ``backward`` of them, the first of a dialogue being ``[DIALOGUE_START]``.
    """

    sentences: list[list[str]]
    labels: dict[str, list[int]] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    contexts: list[list[list[str]]] | None = None
    backward: int = 0
    kept: dict[str, int] = field(default_factory=dict)

    def dialogue_count(self) -> int:
        """Dialogues of a response split: every dialogue's first response has the dialogue
        start alone as its context."""
        return sum(context == [[DIALOGUE_START]] for context in self.contexts or ())

    def vocabulary_sentences(self) -> list[list[str]]:
        """What the vocabulary counts: every sentence and, in a response split, one dialogue
        start per dialogue, so every turn of ``[BOD, u1..un]`` counts once as the authors
        count it (conditional_gen_DD.py:281-290)."""
        return [*self.sentences, *[[DIALOGUE_START]] * self.dialogue_count()]


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


def _labelled_split(path: Path, label: str, allowed: tuple[int, ...] | None = None) -> Split:
    """``label<TAB>sentence`` per line; lines without tokens are dropped. A label that is not an
    integer, or not one of ``allowed`` when given, raises ValueError naming the file and line."""
    sentences: list[list[str]] = []
    values: list[int] = []
    dropped = 0
    for number, line in enumerate(_lines(path), start=1):
        value, _, text = line.partition("\t")
        tokens = text.split()
        if not tokens:
            dropped += 1
            continue
        parsed = int(value) if re.fullmatch(r"\s*-?\d+\s*", value) else None
        if parsed is None or (allowed is not None and parsed not in allowed):
            expected = f"one of {list(allowed)}" if allowed is not None else "an integer"
            raise ValueError(f"{path}:{number}: {label} {value!r} is not {expected}")
        sentences.append(tokens)
        values.append(parsed)
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
        split: _labelled_split(raw / f"short_yelp.{split}.txt", "sentiment", (0, 1))
        for split in SPLITS
    }


def parse_short_yelp_10k(raw: Path) -> dict[str, Split]:
    """Short Yelp with the 10k training subset ``short_yelp.train.10000.txt``."""
    names = {
        "train": "short_yelp.train.10000.txt",
        "valid": "short_yelp.valid.txt",
        "test": "short_yelp.test.txt",
    }
    return {
        split: _labelled_split(raw / name, "sentiment", (0, 1)) for split, name in names.items()
    }


#: A final period glued to the last word (``service.``): nltk's ``word_tokenize`` splits it off.
_GLUED_PERIOD = re.compile(r"(.*[^.])\.")


def sentiment_tokens(line: str) -> list[str]:
    """The tokens LDEBM's authors give a line of Li et al.'s Yelp: lowercased ``nltk``
    ``word_tokenize`` (yuPeiyu98/LDEBM @ 37ebc1f workspace/data/yelp/preprocessed_data.py:14-19).
    The files are tokenised already, so whitespace and the final period are all that is left:
    this gives their tokens on every one of the 5,000 dev and test sentences
    (``benchmarks/yelp_sentiment_tokens.py``)."""
    tokens = line.lower().split()
    glued = _GLUED_PERIOD.fullmatch(tokens[-1]) if tokens else None
    if glued:
        tokens[-1:] = [glued.group(1), "."]
    return tokens


def parse_yelp_sentiment(raw: Path) -> dict[str, Split]:
    """Li et al. (2018)'s Yelp: ``sentiment.{train,dev,test}.{0,1}``, one sentence per line, the
    file's suffix its ``sentiment`` (0 negative, 1 positive); ``dev`` is the valid split. Label-0
    sentences come first. Lines without tokens are dropped and counted."""
    splits = {}
    for split, name in {"train": "train", "valid": "dev", "test": "test"}.items():
        sentences: list[list[str]] = []
        values: list[int] = []
        dropped = 0
        for value in (0, 1):
            for line in _lines(raw / f"sentiment.{name}.{value}"):
                tokens = sentiment_tokens(line)
                if not tokens:
                    dropped += 1
                    continue
                sentences.append(tokens)
                values.append(value)
        splits[split] = Split(
            sentences, {"sentiment": values}, {"empty_lines": dropped} if dropped else {}
        )
    return splits


def parse_synthetic_text(raw: Path) -> dict[str, Split]:
    """The generated latent-class corpus: ``{split}.txt`` as ``class<TAB>sentence``."""
    return {split: _labelled_split(raw / f"{split}.txt", "class") for split in SPLITS}


_DAILYDIALOG_FOLDERS = {"train": "train", "valid": "validation", "test": "test"}
_EOU = "__eou__"
# The authors' chat tokenizer, nltk.RegexpTokenizer(r'\w+|<sil>|[^\w\s]+') (LDEBM @ 37ebc1f
# workspace/conditional_gen_DD.py:1726-1728), whose tokenize is this pattern's findall.
_CHAT_TOKEN = re.compile(r"\w+|<sil>|[^\w\s]+")


def tokenize_chat(text: str) -> list[str]:
    """The authors' chat tokenisation: runs of word characters, ``<sil>``, and runs of other
    non-space characters (``"I'm"`` -> ``I ' m``, ``"?!"`` one token). Case is kept."""
    return _CHAT_TOKEN.findall(text)


@dataclass
class _Dialogue:
    """One DailyDialog dialogue: its tokenised utterances and their 0-based act and emotion."""

    utterances: list[list[str]]
    acts: list[int]
    emotions: list[int]


def _integers(text: str, path: Path, line: int) -> list[int]:
    """The whitespace-separated integers of ``path``'s line ``line``."""
    try:
        return [int(value) for value in text.split()]
    except ValueError:
        raise ValueError(f"{path}:{line}: expected integer labels, got {text!r}") from None


def _dailydialog_dialogues(
    folder: Path, name: str, tokenize: Callable[[str], list[str]]
) -> tuple[list[_Dialogue], dict[str, int]]:
    """The dialogues of one DailyDialog split (one per line, utterances ended by ``__eou__``,
    one act and one emotion per utterance in the parallel files) and what was left out.

    Empty lines are skipped, and so is a dialogue whose label count differs from its utterance
    count (train line 7852 of the release); both are counted. A label out of range raises
    ValueError naming the file and line.
    """
    text_path = folder / f"dialogues_{name}.txt"
    act_path = folder / f"dialogues_act_{name}.txt"
    emotion_path = folder / f"dialogues_emotion_{name}.txt"
    texts, acts, emotions = (list(_lines(path)) for path in (text_path, act_path, emotion_path))
    if not len(texts) == len(acts) == len(emotions):
        raise ValueError(
            f"DailyDialog {name}: {text_path} has {len(texts)} lines, {act_path} {len(acts)} "
            f"and {emotion_path} {len(emotions)}"
        )
    dialogues: list[_Dialogue] = []
    empty_lines = skipped_dialogues = skipped_utterances = 0
    for line, (text, act_line, emotion_line) in enumerate(
        zip(texts, acts, emotions, strict=True), 1
    ):
        pieces = text.split(_EOU)
        if not pieces[-1].strip():
            pieces.pop()
        if not pieces:
            empty_lines += 1
            continue
        utterances = [tokenize(piece.lower()) for piece in pieces]
        act = _integers(act_line, act_path, line)
        emotion = _integers(emotion_line, emotion_path, line)
        if not len(utterances) == len(act) == len(emotion):
            skipped_dialogues += 1
            skipped_utterances += len(utterances)
            continue
        if not (all(1 <= a <= 4 for a in act) and all(0 <= e <= 6 for e in emotion)):
            raise ValueError(
                f"{act_path}:{line} / {emotion_path}:{line}: DailyDialog label out of range in "
                f"{act} / {emotion} (acts 1-4, emotions 0-6)"
            )
        dialogues.append(_Dialogue(utterances, [a - 1 for a in act], emotion))
    dropped = {"empty_lines": empty_lines} if empty_lines else {}
    if skipped_dialogues:
        dropped["dialogues_with_label_count_mismatch"] = skipped_dialogues
        dropped["utterances_in_skipped_dialogues"] = skipped_utterances
    return dialogues, dropped


def _dailydialog_split(folder: Path, name: str) -> Split:
    dialogues, dropped = _dailydialog_dialogues(folder, name, str.split)
    split = Split([], {"act": [], "emotion": []}, dropped)
    for dialogue in dialogues:
        split.sentences.extend(dialogue.utterances)
        split.labels["act"].extend(dialogue.acts)
        split.labels["emotion"].extend(dialogue.emotions)
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


def dialogue_contexts(utterances: list[list[str]], backward: int) -> list[list[list[str]]]:
    """Per utterance of a dialogue its context: the up to ``backward`` turns before it in
    ``[[DIALOGUE_START], u1, ..., un]``, oldest first, as the authors' ``flatten_dialog``
    windows them (conditional_gen_DD.py:339-357: ``dialog[max(0, i - backward_size):i]``)."""
    turns = [[DIALOGUE_START], *utterances]
    return [turns[max(0, index - backward) : index] for index in range(1, len(turns))]


def _response_split(labels: Iterable[str], backward: int, dropped: dict[str, int]) -> Split:
    return Split([], {name: [] for name in labels}, dropped, contexts=[], backward=backward)


def _add_dialogue(split: Split, utterances: list[list[str]], labels: dict[str, list[int]]) -> None:
    """Append a dialogue's utterances as responses with their contexts and labels."""
    assert split.contexts is not None
    split.sentences.extend(utterances)
    split.contexts.extend(dialogue_contexts(utterances, split.backward))
    for name, values in labels.items():
        split.labels[name].extend(values)


def _count_empty(split: Split, utterances: Iterable[list[str]], prefix: int = 0) -> None:
    """Count in ``kept`` the utterances with no token beyond their first ``prefix`` ones."""
    empty = sum(len(tokens) <= prefix for tokens in utterances)
    if empty:
        split.kept["empty_responses"] = split.kept.get("empty_responses", 0) + empty


def _dailydialog_responses_split(folder: Path, name: str, backward: int) -> Split:
    dialogues, dropped = _dailydialog_dialogues(folder, name, tokenize_chat)
    split = _response_split(("act", "emotion"), backward, dropped)
    for dialogue in dialogues:
        _count_empty(split, dialogue.utterances)
        _add_dialogue(
            split, dialogue.utterances, {"act": dialogue.acts, "emotion": dialogue.emotions}
        )
    return split


def parse_dailydialog_responses(raw: Path) -> dict[str, Split]:
    """DailyDialog as (context, response) pairs, the authors' conditional response generation
    data (LDEBM @ 37ebc1f workspace/conditional_gen_DD.py:218-424).

    Every utterance of a dialogue is a response; its context is the up to
    :data:`CONTEXT_WINDOW` turns before it, oldest first, the dialogue start ``[<d>]`` included
    while it is within the window (:func:`dialogue_contexts`). Utterances are lowercased and
    split with the authors' chat tokenizer (:func:`tokenize_chat`), which splits contractions
    (``i'm`` -> ``i ' m``) where the release's own spacing keeps them. ``act`` (0-3) and
    ``emotion`` (0-6) label each response as in :func:`parse_dailydialog`; a dialogue whose
    label count differs from its utterance count is skipped and counted in ``dropped`` (the
    authors' code would fail on it, and their train file differs from the release's). An
    utterance with no tokens stays a response (``<s> </s>``) and a context turn, as the authors
    keep it, and is counted in ``kept``.
    """
    return {
        split: _dailydialog_responses_split(raw / folder, folder, CONTEXT_WINDOW)
        for split, folder in _DAILYDIALOG_FOLDERS.items()
    }


def _synthetic_dialogue_split(path: Path, backward: int) -> Split:
    split = _response_split(("topic", "act"), backward, {})
    turns: list[list[str]] = []
    labels: dict[str, list[int]] = {"topic": [], "act": []}
    for number, line in enumerate([*_lines(path), ""], 1):
        if not line:
            if turns:
                _add_dialogue(split, turns, labels)
            turns, labels = [], {"topic": [], "act": []}
            continue
        fields = line.split("\t")
        if len(fields) != 3 or not (fields[0].isdigit() and fields[1].isdigit()):
            raise ValueError(f"{path}:{number}: expected topic<TAB>act<TAB>utterance, got {line!r}")
        labels["topic"].append(int(fields[0]))
        labels["act"].append(int(fields[1]))
        turns.append(fields[2].split())
    return split


def parse_synthetic_dialogue(raw: Path) -> dict[str, Split]:
    """The generated topic dialogues (:func:`~latentrepro.data.synthetic.dialogue_corpus`) as
    (context, response) pairs windowed like DailyDialog's (:func:`dialogue_contexts`):
    ``{split}.txt`` holds ``topic<TAB>act<TAB>utterance`` lines, an empty line ending each
    dialogue; labels ``topic`` and ``act`` (0 question, 1 answer)."""
    return {
        split: _synthetic_dialogue_split(raw / f"{split}.txt", CONTEXT_WINDOW) for split in SPLITS
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


# The authors' speaker tokens, the first word of every SMD utterance (LDEBM @ 37ebc1f
# workspace/conditional_gen_SMD.py:171-172,254,264).
_SMD_SPEAKERS = {"driver": "<usr>", "assistant": "<sys>"}


def _smd_turns(dialogue: dict[str, Any], where: str) -> tuple[int, list[list[str]]]:
    """A kvret dialogue's intent (index in :data:`SMD_INTENTS`) and its turns as speaker token
    and chat tokens; ``where`` names the dialogue in errors."""
    try:
        intent = dialogue["scenario"]["task"]["intent"]
        raw_turns = [(turn["turn"], turn["data"]["utterance"]) for turn in dialogue["dialogue"]]
    except (KeyError, TypeError) as err:
        raise ValueError(f"{where}: not a kvret dialogue (missing {err})") from None
    if intent not in SMD_INTENTS:
        raise ValueError(f"{where}: unknown intent {intent!r}; known: {SMD_INTENTS}")
    turns = []
    for number, (speaker, utterance) in enumerate(raw_turns):
        if speaker not in _SMD_SPEAKERS:
            raise ValueError(
                f"{where}, turn {number}: unknown speaker {speaker!r}; "
                f"known: {sorted(_SMD_SPEAKERS)}"
            )
        turns.append([_SMD_SPEAKERS[speaker], *tokenize_chat(utterance)])
    return SMD_INTENTS.index(intent), turns


def _smd_responses_split(path: Path, backward: int) -> Split:
    dialogues = json.loads(path.read_text(encoding="utf-8"))
    split = _response_split(("intent",), backward, {})
    without_turns = 0
    for number, dialogue in enumerate(dialogues):
        intent, utterances = _smd_turns(dialogue, f"{path}: dialogue {number}")
        if not utterances:
            without_turns += 1
            continue
        _count_empty(split, utterances, prefix=1)
        _add_dialogue(split, utterances, {"intent": [intent] * len(utterances)})
    if without_turns:
        split.dropped["dialogues_without_turns"] = without_turns
    return split


def parse_smd_responses(raw: Path) -> dict[str, Split]:
    """SMD/KVRET as (context, response) pairs, the authors' conditional response generation
    data (LDEBM @ 37ebc1f workspace/conditional_gen_SMD.py:218-396, ``StanfordCorpus`` and
    ``SMDDataLoader.flatten_dialog``).

    Every turn of either speaker is a response; a turn is its speaker token (``<usr>`` for the
    driver, ``<sys>`` for the assistant) followed by its words, split with the authors' chat
    tokenizer (:func:`tokenize_chat`) without lowercasing, as theirs. The context is the up to
    :data:`CONTEXT_WINDOW` turns before, oldest first, the dialogue start ``[<d>]`` included
    while within the window. The KB items (``scenario.kvret``) are not read, as the authors do
    not; the kvret files have no QUERY/RET turns. Each response carries its dialogue's
    ``intent`` (0-2, :data:`SMD_INTENTS`). A turn with an empty utterance stays a response
    (``<s> <usr> </s>``), as the authors keep it, and is counted in ``kept``; a dialogue without
    turns gives no response and is counted in ``dropped``. The official dev split is ``valid``.
    """
    return {
        split: _smd_responses_split(raw / name, CONTEXT_WINDOW)
        for split, name in _SMD_FILES.items()
    }


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
