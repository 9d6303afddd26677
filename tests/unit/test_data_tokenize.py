"""Vocabulary, numericalisation and the tokenised-dataset files, against hand-computed values."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch

from latentrepro.data.download import fetch_dataset
from latentrepro.data.parsers import Split
from latentrepro.data.registry import get_dataset
from latentrepro.data.tokenize import (
    Vocab,
    evaluation_split_file,
    numericalise,
    prepare_arrays,
    tokenize_dataset,
)

SPECIALS = ["<pad>", "<s>", "</s>", "<unk>"]


def test_specials_come_first_in_fixed_order() -> None:
    vocab = Vocab(["x"])
    assert vocab.itos == [*SPECIALS, "x"]
    assert (vocab.PAD_ID, vocab.BOS_ID, vocab.EOS_ID, vocab.UNK_ID) == (0, 1, 2, 3)


def test_build_keeps_most_frequent_with_alphabetical_ties() -> None:
    sentences = [["b", "a", "c"], ["a", "b"], ["d", "a"], ["e"]]  # a:3 b:2 c:1 d:1 e:1
    assert Vocab.build(sentences, 7).itos == [*SPECIALS, "a", "b", "c"]
    assert Vocab.build(sentences, 6).itos == [*SPECIALS, "a", "b"]
    assert Vocab.build(sentences, 100).itos == [*SPECIALS, "a", "b", "c", "d", "e"]
    assert Vocab.build(list(reversed(sentences)), 8).itos == Vocab.build(sentences, 8).itos


def test_words_spelled_like_specials_map_to_them() -> None:
    vocab = Vocab.build([["<unk>", "<unk>", "x"]], 10)
    assert vocab.itos == [*SPECIALS, "x"]
    assert vocab.encode(["<unk>", "x", "never"]) == [3, 4, 3]


def test_build_rejects_a_size_below_the_specials() -> None:
    with pytest.raises(ValueError, match="at least 4"):
        Vocab.build([["a"]], 3)


def test_encode_decode_save_load(tmp_path: Path) -> None:
    vocab = Vocab(["the", "cat"])
    assert vocab.encode(["the", "dog", "cat"]) == [4, 3, 5]
    assert vocab.decode([1, 4, 3, 5, 2, 4, 0]) == ["the", "<unk>", "cat"]
    vocab.save(tmp_path / "vocab.json")
    assert json.loads((tmp_path / "vocab.json").read_text()) == {"itos": [*SPECIALS, "the", "cat"]}
    assert Vocab.load(tmp_path / "vocab.json").itos == vocab.itos
    (tmp_path / "bad.json").write_text(json.dumps({"itos": ["the", "<pad>"]}))
    with pytest.raises(ValueError, match="does not start with"):
        Vocab.load(tmp_path / "bad.json")


def test_numericalise_pads_wraps_and_truncates() -> None:
    vocab = Vocab(["a", "b"])  # a=4, b=5
    split = Split([["a", "b", "a"], ["b", "c"], ["a"], []], {"class": [1, 0, 1, 2]})
    data = numericalise(split, vocab, max_length=2)
    assert data["tokens"].tolist() == [
        [1, 4, 5, 2],
        [1, 5, 3, 2],
        [1, 4, 2, 0],
        [1, 2, 0, 0],
    ]
    assert data["tokens"].dtype == data["lengths"].dtype == torch.long
    assert data["lengths"].tolist() == [4, 4, 3, 2]
    assert data["labels"]["class"].tolist() == [1, 0, 1, 2]
    assert data["truncated"] == 1


def write_corpus(raw: Path) -> None:
    """A tiny labelled corpus in the synthetic_text layout, with a manifest as fetch writes it."""
    raw.mkdir(parents=True)
    texts = {
        "train": "0\tthe cat sat\n1\tthe dog sat down today\n0\tthe cat\n",
        "valid": "1\ta dog sat\n",
        "test": "0\tthe bird\n1\tcat\n",
    }
    for split, text in texts.items():
        (raw / f"{split}.txt").write_text(text)
    digests = {
        f"{split}.txt": {"sha256": hashlib.sha256(text.encode()).hexdigest()}
        for split, text in texts.items()
    }
    (raw / "manifest.json").write_text(json.dumps({"files": digests}))


def test_tokenize_dataset_by_hand(tmp_path: Path) -> None:
    write_corpus(tmp_path / "raw")
    spec = get_dataset("synthetic_text")
    stats = tokenize_dataset(tmp_path / "raw", tmp_path / "out", spec, vocab_size=7, max_length=4)
    # train counts: the 3, cat 2, sat 2, dog/down/today 1 -> keep the, cat, sat
    assert Vocab.load(tmp_path / "out" / "vocab.json").itos == [*SPECIALS, "the", "cat", "sat"]
    train = torch.load(tmp_path / "out" / "train.pt")
    assert set(train) == {"tokens", "lengths", "labels"}
    assert train["tokens"].tolist() == [
        [1, 4, 5, 6, 2, 0],
        [1, 4, 3, 6, 3, 2],
        [1, 4, 5, 2, 0, 0],
    ]
    assert train["lengths"].tolist() == [5, 6, 4]
    assert train["labels"]["class"].tolist() == [0, 1, 0]
    assert stats["vocab_size"] == 7 and stats["max_length"] == 4
    assert stats["splits"]["train"] == {
        "sentences": 3,
        "tokens": 10,
        "mean_length": 10 / 3,
        "unk_rate": 3 / 10,  # dog, down, today
        "truncated": 1,
        "dropped": {},
        "label_counts": {"class": {"0": 2, "1": 1}},
    }
    assert stats["splits"]["valid"]["unk_rate"] == 2 / 3  # a, dog
    assert stats["splits"]["test"]["tokens"] == 3
    assert stats["raw_sha256"]["valid.txt"] == hashlib.sha256(b"1\ta dog sat\n").hexdigest()
    assert json.loads((tmp_path / "out" / "stats.json").read_text()) == json.loads(
        json.dumps(stats)
    )


def digests(directory: Path) -> dict[str, str]:
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(directory.iterdir())
    }


def test_tokenised_files_are_byte_deterministic(tmp_path: Path) -> None:
    spec = get_dataset("synthetic_text")
    options = {"train": 200, "valid": 50, "test": 50, "num_classes": 4, "seed": 1}
    raw = fetch_dataset("synthetic_text", tmp_path / "raw", None, options, progress=False)
    tokenize_dataset(raw, tmp_path / "one", spec, vocab_size=300, max_length=12)
    tokenize_dataset(raw, tmp_path / "two", spec, vocab_size=300, max_length=12)
    first = digests(tmp_path / "one")
    assert set(first) == {
        "train.pt", "valid.pt", "test.pt", "valid_whole.pt", "test_whole.pt", "vocab.json",
        "stats.json",
    }  # fmt: skip
    assert first == digests(tmp_path / "two")


def test_evaluation_splits_are_also_written_whole(tmp_path: Path) -> None:
    spec = get_dataset("synthetic_text")
    options = {"train": 200, "valid": 50, "test": 50, "num_classes": 4, "seed": 1}
    raw = fetch_dataset("synthetic_text", tmp_path / "raw", None, options, progress=False)
    stats = tokenize_dataset(raw, tmp_path / "out", spec, vocab_size=300, max_length=4)
    sentences = spec.parser(raw)["test"].sentences
    cut = sum(len(s) > 4 for s in sentences)
    assert 0 < cut == stats["splits"]["test"]["truncated"]
    path, note = evaluation_split_file(tmp_path / "out", "test", whole=False)
    assert path.name == "test.pt"
    assert note == f"test sentences cut at 4 words as in training ({cut} of 50 cut)"
    path, note = evaluation_split_file(tmp_path / "out", "test", whole=True)
    assert (path.name, note) == ("test_whole.pt", "test sentences whole (none cut)")
    whole, short = torch.load(path), torch.load(tmp_path / "out" / "test.pt")
    assert whole["lengths"].tolist() == [len(s) + 2 for s in sentences]
    assert whole["tokens"].shape[1] == max(len(s) for s in sentences) + 2
    assert short["lengths"].tolist() == [min(len(s), 4) + 2 for s in sentences]
    # The same words where both have them.
    for row, length in enumerate(short["lengths"].tolist()):
        assert (
            whole["tokens"][row, : length - 1].tolist()
            == short["tokens"][row, : length - 1].tolist()
        )
    with pytest.raises(FileNotFoundError, match=r"train_whole\.pt is missing"):
        evaluation_split_file(tmp_path / "out", "train", whole=True)


def test_prepare_arrays_writes_float_tensors_deterministically(tmp_path: Path) -> None:
    spec = get_dataset("grid16")
    options = {"train": 160, "valid": 32, "test": 32, "seed": 0}
    raw = fetch_dataset("grid16", tmp_path / "raw", None, options, progress=False)
    stats = prepare_arrays(raw, tmp_path / "one", spec)
    prepare_arrays(raw, tmp_path / "two", spec)
    assert digests(tmp_path / "one") == digests(tmp_path / "two")
    train = torch.load(tmp_path / "one" / "train.pt")
    assert train["x"].dtype == torch.float32 and train["x"].shape == (160, 2)
    assert train["labels"]["component"].dtype == torch.long
    assert stats["splits"]["valid"]["examples"] == 32
    assert stats["splits"]["train"]["label_counts"]["component"] == {str(k): 10 for k in range(16)}


def test_tokenisation_needs_a_completed_fetch(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"manifest\.json"):
        tokenize_dataset(tmp_path, tmp_path / "out", get_dataset("ptb"), 100, 10)


def test_kind_mismatch_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="prepare_arrays"):
        tokenize_dataset(tmp_path, tmp_path / "out", get_dataset("grid16"), 100, 10)
    with pytest.raises(ValueError, match="tokenize_dataset"):
        prepare_arrays(tmp_path, tmp_path / "out", get_dataset("ptb"))
