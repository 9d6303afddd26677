"""Parsers on small hand-written raw directories with hand-derived expectations."""

from __future__ import annotations

import io
import json
import os
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest

from latentrepro.data import parsers
from latentrepro.data.parsers import (
    parse_cifar10,
    parse_dailydialog,
    parse_ptb,
    parse_short_yelp,
    parse_short_yelp_10k,
    parse_smd,
    parse_yahoo,
    parse_yelp_sentiment,
    tokenize_simple,
)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_ptb_splits_on_whitespace_keeps_unk_and_drops_empty_lines(tmp_path: Path) -> None:
    write(tmp_path / "ptb.train.txt", " the <unk> rose N %\n\n a b \n")
    write(tmp_path / "ptb.valid.txt", " x\n")
    write(tmp_path / "ptb.test.txt", " y z\n")
    splits = parse_ptb(tmp_path)
    assert splits["train"].sentences == [["the", "<unk>", "rose", "N", "%"], ["a", "b"]]
    assert splits["train"].dropped == {"empty_lines": 1}
    assert splits["train"].labels == {}
    assert splits["test"].sentences == [["y", "z"]]


def test_yahoo_reads_val_txt_as_valid(tmp_path: Path) -> None:
    for name, text in (("train.txt", "a b\n"), ("val.txt", "c _UNK\n"), ("test.txt", "d\n")):
        write(tmp_path / name, text)
    assert parse_yahoo(tmp_path)["valid"].sentences == [["c", "_UNK"]]


def test_labelled_yelp_lines(tmp_path: Path) -> None:
    write(tmp_path / "short_yelp.train.txt", "1\tgreat beer !\n0\tmeh\n1\t\n")
    write(tmp_path / "short_yelp.train.10000.txt", "0\tbad\n")
    write(tmp_path / "short_yelp.valid.txt", "0\tcold food\n")
    write(tmp_path / "short_yelp.test.txt", "1\tnice\n")
    train = parse_short_yelp(tmp_path)["train"]
    assert train.sentences == [["great", "beer", "!"], ["meh"]]
    assert train.labels == {"sentiment": [1, 0]}
    assert train.dropped == {"empty_lines": 1}
    small = parse_short_yelp_10k(tmp_path)
    assert small["train"].labels == {"sentiment": [0]}
    assert small["valid"].sentences == [["cold", "food"]]


@pytest.mark.parametrize(
    ("line", "message"),
    [("2\tso so", r"short_yelp.valid.txt:2: sentiment '2' is not one of \[0, 1\]"),
     ("pos\tgreat", r"short_yelp.valid.txt:2: sentiment 'pos' is not one of \[0, 1\]")],
)  # fmt: skip
def test_an_unknown_sentiment_label_names_the_file_and_line(
    tmp_path: Path, line: str, message: str
) -> None:
    for split in ("train", "valid", "test"):
        write(tmp_path / f"short_yelp.{split}.txt", "1\tgreat beer !\n")
    write(tmp_path / "short_yelp.valid.txt", f"0\tcold food\n{line}\n")
    with pytest.raises(ValueError, match=message):
        parse_short_yelp(tmp_path)


def test_yelp_sentiment_labels_from_the_file_and_the_authors_tokens(tmp_path: Path) -> None:
    for split in ("train", "dev", "test"):
        write(tmp_path / f"sentiment.{split}.0", f"{split} was Bad.\n\nwait ...\n")
        write(tmp_path / f"sentiment.{split}.1", "pretty fast service.\n")
    splits = parse_yelp_sentiment(tmp_path)
    train = splits["train"]
    # lowercased; a final period glued to its word split off, an ellipsis kept whole
    assert train.sentences == [
        ["train", "was", "bad", "."],
        ["wait", "..."],
        ["pretty", "fast", "service", "."],
    ]
    assert train.labels == {"sentiment": [0, 0, 1]}
    assert train.dropped == {"empty_lines": 1}
    assert splits["valid"].sentences[0][0] == "dev"


def dailydialog_dir(root: Path, train_text: str, train_act: str, train_emotion: str) -> Path:
    files = {"train": (train_text, train_act, train_emotion)}
    files["validation"] = ("Hi . __eou__\n", "1 \n", "0 \n")
    files["test"] = ("Bye ! __eou__\n", "4 \n", "6 \n")
    for folder, (text, act, emotion) in files.items():
        write(root / folder / f"dialogues_{folder}.txt", text)
        write(root / folder / f"dialogues_act_{folder}.txt", act)
        write(root / folder / f"dialogues_emotion_{folder}.txt", emotion)
    return root


def test_dailydialog_utterances_with_separate_act_and_emotion_labels(tmp_path: Path) -> None:
    text = (
        "Say , Jim , how about a BEER ? __eou__ Sounds good . __eou__ \n"
        "One __eou__ Two __eou__ Three __eou__ \n"  # 3 utterances, 2 labels: skipped
        "Great ! __eou__ \n"
    )
    raw = dailydialog_dir(tmp_path, text, "2 3 \n1 1 \n4 \n", "0 4 \n0 0 \n6 \n")
    splits = parse_dailydialog(raw)
    train = splits["train"]
    assert train.sentences == [
        ["say", ",", "jim", ",", "how", "about", "a", "beer", "?"],
        ["sounds", "good", "."],
        ["great", "!"],
    ]
    assert train.labels == {"act": [1, 2, 3], "emotion": [0, 4, 6]}  # acts 1-4 stored as 0-3
    assert train.dropped == {
        "dialogues_with_label_count_mismatch": 1,
        "utterances_in_skipped_dialogues": 3,
    }
    assert splits["valid"].sentences == [["hi", "."]]
    assert splits["test"].labels == {"act": [3], "emotion": [6]}


def test_dailydialog_rejects_out_of_range_labels(tmp_path: Path) -> None:
    raw = dailydialog_dir(tmp_path, "A __eou__\n", "5 \n", "0 \n")
    with pytest.raises(ValueError, match="out of range"):
        parse_dailydialog(raw)


def test_simple_tokenisation() -> None:
    assert tokenize_simple("Where's the nearest gas station? It's 5 miles.") == [
        "where's", "the", "nearest", "gas", "station", "?", "it's", "5", "miles", ".",
    ]  # fmt: skip


def test_smd_utterances_of_both_speakers_labelled_by_intent(tmp_path: Path) -> None:
    def dialogue(intent: str, *utterances: str) -> dict:
        turns = [
            {"turn": "driver" if i % 2 == 0 else "assistant", "data": {"utterance": u}}
            for i, u in enumerate(utterances)
        ]
        return {"dialogue": turns, "scenario": {"task": {"intent": intent}}}

    train = [
        dialogue("weather", "Will it rain?", "No, it's sunny."),
        dialogue("navigate", "Gas station please", "  "),
        dialogue("schedule", "When is my dentist appointment?"),
    ]
    write(tmp_path / "kvret_train_public.json", json.dumps(train))
    write(tmp_path / "kvret_dev_public.json", json.dumps([dialogue("schedule", "Hi")]))
    write(tmp_path / "kvret_test_public.json", "[]")
    splits = parse_smd(tmp_path)
    assert splits["train"].sentences == [
        ["will", "it", "rain", "?"],
        ["no", ",", "it's", "sunny", "."],
        ["gas", "station", "please"],
        ["when", "is", "my", "dentist", "appointment", "?"],
    ]
    assert splits["train"].labels == {"intent": [2, 2, 0, 1]}  # navigate, schedule, weather
    assert splits["train"].dropped == {"empty_utterances": 1}
    assert splits["valid"].labels == {"intent": [1]}
    assert splits["test"].sentences == []


def cifar_archive(raw: Path, batches: dict[str, tuple[np.ndarray, list[int]]]) -> None:
    """A tar.gz laid out like cifar-10-python.tar.gz, pickled with protocol 2 as the original."""
    raw.mkdir(parents=True, exist_ok=True)
    with tarfile.open(raw / "cifar-10-python.tar.gz", "w:gz") as tar:
        for name, (data, labels) in batches.items():
            payload = pickle.dumps({b"data": data, b"labels": labels}, protocol=2)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))


def test_cifar10_float_chw_with_valid_carved_from_the_end_of_train(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parsers, "CIFAR10_VALID_SIZE", 3)
    rng = np.random.default_rng(0)
    batches = {
        name: (rng.integers(0, 256, (2, 3072), dtype=np.uint8), [index, (index + 1) % 10])
        for index, name in enumerate([f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"])
    }
    cifar_archive(tmp_path, batches)
    splits = parse_cifar10(tmp_path)
    assert {name: split.x.shape for name, split in splits.items()} == {
        "train": (7, 3, 32, 32),
        "valid": (3, 3, 32, 32),
        "test": (2, 3, 32, 32),
    }
    assert splits["train"].x.dtype == np.float32
    first = batches["data_batch_1"][0][0]
    # Row layout: 1024 red, then 1024 green, then 1024 blue values, each row-major 32x32.
    assert splits["train"].x[0, 1, 2, 5] == pytest.approx(first[1024 + 2 * 32 + 5] / 255)
    last = batches["data_batch_5"][0][1]
    assert splits["valid"].x[-1, 2, 31, 31] == pytest.approx(last[3071] / 255)
    assert splits["train"].labels["class"].tolist() == [0, 1, 1, 2, 2, 3, 3]
    assert splits["valid"].labels["class"].tolist() == [4, 4, 5]
    assert splits["test"].labels["class"].tolist() == [5, 6]


def test_cifar10_refuses_pickles_that_name_other_globals(tmp_path: Path) -> None:
    class Exploit:
        def __reduce__(self) -> tuple:
            return (os.getcwd, ())

    raw = tmp_path / "raw"
    raw.mkdir()
    payload = pickle.dumps({b"data": Exploit(), b"labels": []}, protocol=2)
    with tarfile.open(raw / "cifar-10-python.tar.gz", "w:gz") as tar:
        info = tarfile.TarInfo("cifar-10-batches-py/data_batch_1")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    with pytest.raises(pickle.UnpicklingError, match="forbidden global"):
        parse_cifar10(raw)
