"""(context, response) datasets: DailyDialog, SMD and synthetic_dialogue windowed and
tokenised as LDEBM's authors do (yuPeiyu98/LDEBM @ 37ebc1f, workspace/conditional_gen_DD.py and
conditional_gen_SMD.py), numericalised with their contexts and batched with them."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from latentrepro.data import synthetic
from latentrepro.data.batches import TokenSplit
from latentrepro.data.download import fetch_dataset
from latentrepro.data.parsers import (
    CONTEXT_WINDOW,
    Split,
    dialogue_contexts,
    parse_dailydialog_responses,
    parse_smd_responses,
    parse_synthetic_dialogue,
    tokenize_chat,
)
from latentrepro.data.registry import get_dataset
from latentrepro.data.tokenize import Vocab, numericalise, tokenize_dataset

D = ["<d>"]


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def dailydialog_dir(root: Path, train: list[tuple[str, str, str]]) -> Path:
    """A DailyDialog layout whose train holds ``train`` (text, acts, emotions) lines."""
    files = {
        "train": train,
        "validation": [("Hi . __eou__ ", "1", "0")],
        "test": [("Bye ! __eou__ See you . __eou__ ", "4 1", "6 0")],
    }
    for folder, lines in files.items():
        for column, name in enumerate(("dialogues", "dialogues_act", "dialogues_emotion")):
            text = "".join(f"{line[column]}\n" for line in lines)
            write(root / folder / f"{name}_{folder}.txt", text)
    return root


def utterances(n: int, start: int = 1) -> str:
    return "".join(f"U{index} . __eou__ " for index in range(start, start + n))


def u(index: int) -> list[str]:
    return [f"u{index}", "."]


def test_three_and_seven_utterance_dialogues_give_the_authors_windows(tmp_path: Path) -> None:
    raw = dailydialog_dir(
        tmp_path,
        [
            (utterances(3), "1 2 3", "0 1 2"),
            (utterances(7, start=4), "1 1 1 1 1 1 4", "0 0 0 0 0 0 6"),
        ],
    )
    train = parse_dailydialog_responses(raw)["train"]
    assert train.backward == CONTEXT_WINDOW == 5
    assert train.sentences == [u(i) for i in range(1, 11)]
    first = [[D], [D, u(1)], [D, u(1), u(2)]]
    second = [
        [D],
        [D, u(4)],
        [D, u(4), u(5)],
        [D, u(4), u(5), u(6)],
        [D, u(4), u(5), u(6), u(7)],
        [u(4), u(5), u(6), u(7), u(8)],  # the dialogue start has left the window
        [u(5), u(6), u(7), u(8), u(9)],
    ]
    assert train.contexts == first + second
    assert train.labels == {"act": [0, 1, 2] + [0] * 6 + [3], "emotion": [0, 1, 2] + [0] * 6 + [6]}
    assert train.dialogue_count() == 2 and train.dropped == {} and train.kept == {}


def test_dialogue_contexts_of_an_empty_and_a_short_window() -> None:
    assert dialogue_contexts([], 5) == []
    assert dialogue_contexts([["a"], ["b"], ["c"]], 1) == [[D], [["a"]], [["b"]]]


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("i'm fine, thanks!", ["i", "'", "m", "fine", ",", "thanks", "!"]),
        ("Really?! No...", ["Really", "?!", "No", "..."]),
        ("It is only £ 330 .", ["It", "is", "only", "£", "330", "."]),
        ("e-mail me at 5:30pm", ["e", "-", "mail", "me", "at", "5", ":", "30pm"]),
        ("<sil> ok <s>", ["<sil>", "ok", "<", "s", ">"]),
        ("café’s", ["café", "’", "s"]),
        ("   ", []),
    ],
)
def test_chat_tokenisation(text: str, tokens: list[str]) -> None:
    assert tokenize_chat(text) == tokens


def test_dailydialog_responses_are_lowercased_chat_tokens(tmp_path: Path) -> None:
    raw = dailydialog_dir(tmp_path, [("I'm OK , you ? __eou__ Can't say . __eou__ ", "1 1", "0 0")])
    train = parse_dailydialog_responses(raw)["train"]
    assert train.sentences == [
        ["i", "'", "m", "ok", ",", "you", "?"],
        ["can", "'", "t", "say", "."],
    ]


def test_empty_utterances_are_kept_and_counted_and_mismatches_dropped(tmp_path: Path) -> None:
    raw = dailydialog_dir(
        tmp_path,
        [
            ("A . __eou__ ... __eou__ B __eou__ ", "1 1", "0 0"),  # 3 utterances, 2 labels
            ("A . __eou__  __eou__ B __eou__ ", "1 2 3", "0 0 0"),  # an empty utterance
            ("", "", ""),
        ],
    )
    train = parse_dailydialog_responses(raw)["train"]
    assert train.sentences == [["a", "."], [], ["b"]]
    assert train.contexts == [[D], [D, ["a", "."]], [D, ["a", "."], []]]
    assert train.kept == {"empty_responses": 1}
    assert train.dropped == {
        "empty_lines": 1,
        "dialogues_with_label_count_mismatch": 1,
        "utterances_in_skipped_dialogues": 3,
    }
    assert train.labels == {"act": [0, 1, 2], "emotion": [0, 0, 0]}


@pytest.mark.parametrize(
    ("act", "emotion", "message"),
    [("1 x", "0 0", r"dialogues_act_train.txt:1: expected integer labels"),
     ("1 5", "0 0", r"dialogues_act_train.txt:1 .*label out of range")],
)  # fmt: skip
def test_malformed_dailydialog_labels_name_the_file_and_line(
    tmp_path: Path, act: str, emotion: str, message: str
) -> None:
    raw = dailydialog_dir(tmp_path, [("A __eou__ B __eou__", act, emotion)])
    with pytest.raises(ValueError, match=message):
        parse_dailydialog_responses(raw)


def kvret_dialogue(intent: str, *turns: tuple[str, str]) -> dict:
    return {
        "dialogue": [
            {"turn": speaker, "data": {"end_dialogue": False, "utterance": text}}
            for speaker, text in turns
        ],
        "scenario": {"kb": {"items": None}, "task": {"intent": intent}},
    }


def smd_dir(root: Path, train: list[dict]) -> Path:
    write(root / "kvret_train_public.json", json.dumps(train))
    write(root / "kvret_dev_public.json", json.dumps([kvret_dialogue("schedule")]))
    write(root / "kvret_test_public.json", "[]")
    return root


def test_smd_pairs_lead_with_the_speaker_and_keep_case(tmp_path: Path) -> None:
    turns = [("driver", "Will it rain in Palo Alto?"), ("assistant", "No, it's sunny.")]
    turns += [("driver", "Thanks!"), ("assistant", ""), ("driver", "ok"), ("assistant", "Bye")]
    raw = smd_dir(tmp_path, [kvret_dialogue("weather", *turns), kvret_dialogue("navigate")])
    splits = parse_smd_responses(raw)
    train = splits["train"]
    r = [
        ["<usr>", "Will", "it", "rain", "in", "Palo", "Alto", "?"],
        ["<sys>", "No", ",", "it", "'", "s", "sunny", "."],
        ["<usr>", "Thanks", "!"],
        ["<sys>"],
        ["<usr>", "ok"],
        ["<sys>", "Bye"],
    ]
    assert train.sentences == r
    assert train.contexts == [[D], [D, *r[:1]], [D, *r[:2]], [D, *r[:3]], [D, *r[:4]], r[:5]]
    assert train.labels == {"intent": [2] * 6}
    assert train.kept == {"empty_responses": 1}
    assert train.dropped == {"dialogues_without_turns": 1}
    assert splits["valid"].sentences == [] and splits["valid"].dropped == {
        "dialogues_without_turns": 1
    }
    assert splits["test"].contexts == []


@pytest.mark.parametrize(
    ("dialogue", "message"),
    [
        (kvret_dialogue("shopping", ("driver", "hi")), r"dialogue 0: unknown intent 'shopping'"),
        (kvret_dialogue("weather", ("robot", "hi")), r"dialogue 0, turn 0: unknown speaker"),
        ({"dialogue": []}, r"dialogue 0: not a kvret dialogue \(missing 'scenario'\)"),
    ],
)
def test_malformed_smd_names_the_file_and_dialogue(
    tmp_path: Path, dialogue: dict, message: str
) -> None:
    raw = smd_dir(tmp_path, [dialogue])
    with pytest.raises(ValueError, match=f"kvret_train_public.json: {message}"):
        parse_smd_responses(raw)


def pad_to(max_len: int, tokens: list[int]) -> list[int]:
    """The authors' cut, DataLoader.pad_to(..., do_pad=False) (utils/dataloader_bases.py:59-65)."""
    if len(tokens) >= max_len:
        return tokens[0 : max_len - 1] + [tokens[-1]]  # noqa: RUF005 (the authors' line)
    return tokens


def response_split(sentences: list[list[str]], contexts: list[list[list[str]]]) -> Split:
    return Split(sentences, {"y": list(range(len(sentences)))}, contexts=contexts, backward=3)


def test_responses_and_turns_are_cut_exactly_like_pad_to() -> None:
    words = [f"w{index}" for index in range(50)]
    vocab = Vocab(["<d>", *words])
    sentences = [words[:n] for n in range(50)]
    split = response_split(sentences, [[D, words[:n]] for n in range(50)])
    data = numericalise(split, vocab, max_length=38)
    assert data["tokens"].shape == (50, 40) and data["contexts"].shape == (50, 3, 40)
    for n in range(50):
        expected = pad_to(40, [Vocab.BOS_ID, *vocab.encode(words[:n]), Vocab.EOS_ID])
        assert data["tokens"][n, : data["lengths"][n]].tolist() == expected
        turn = data["contexts"][n, 1]
        assert turn[: len(expected)].tolist() == expected
        assert (turn[len(expected) :] == Vocab.PAD_ID).all()
    assert data["truncated"] == 11  # 39..49 words


def test_contexts_are_padded_with_pad_rows_and_uncut_when_whole() -> None:
    vocab = Vocab(["<d>", "a", "b", "c"])
    split = response_split(
        [["a"], ["b", "c"], ["c"]],
        [[D], [D, ["a"]], [["a"], ["b", "c"], ["b", "c", "a", "b"]]],
    )
    cut = numericalise(split, vocab, max_length=2)
    d, a, b, c = (vocab.stoi[w] for w in ("<d>", "a", "b", "c"))
    bos, eos = Vocab.BOS_ID, Vocab.EOS_ID
    assert cut["contexts"].tolist() == [
        [[bos, d, eos, 0], [0] * 4, [0] * 4],
        [[bos, d, eos, 0], [bos, a, eos, 0], [0] * 4],
        [[bos, a, eos, 0], [bos, b, c, eos], [bos, b, c, eos]],  # 4 words cut to 2
    ]
    assert cut["context_turns"].tolist() == [1, 2, 3]
    assert cut["contexts"].dtype == cut["context_turns"].dtype == torch.long
    whole = numericalise(split, vocab, max_length=None)
    assert whole["contexts"].shape == (3, 3, 6)
    assert whole["contexts"][2, 2].tolist() == [bos, b, c, a, b, eos]


def test_plain_splits_have_no_context_keys() -> None:
    data = numericalise(Split([["a"]]), Vocab(["a"]), max_length=4)
    assert set(data) == {"tokens", "lengths", "labels", "truncated"}


@pytest.mark.parametrize(
    ("contexts", "message"),
    [([[]], "has 0 turns; 1 to backward=3"), ([[D] * 4], "has 4 turns"), ([], "0 contexts")],
)
def test_numericalise_rejects_contexts_that_do_not_fit(contexts: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        numericalise(response_split([["a"]], contexts), Vocab(["a"]), max_length=4)


def test_batches_trim_contexts_to_their_most_turns_and_longest_turn(tmp_path: Path) -> None:
    vocab = Vocab(["<d>", "a", "b"])
    split = response_split(
        [["a"], ["b", "b"], ["a", "b", "a"]],
        [[D], [D, ["a", "b", "a", "b"]], [["a"], ["b"], ["a"]]],
    )
    path = tmp_path / "train.pt"
    torch.save({k: v for k, v in numericalise(split, vocab, 6).items() if k != "truncated"}, path)
    tokens = TokenSplit.load(path)
    assert tokens.contexts is not None and tokens.contexts.shape == (3, 3, 8)
    batch = tokens.batch(torch.tensor([0, 2]))
    assert batch["context"].shape == (2, 3, 3)  # 3 turns (row 2), longest turn <s> a </s>
    assert batch["context_turns"].tolist() == [1, 3]
    batch = tokens.batch(torch.tensor([1, 0]))
    assert batch["context"].shape == (2, 2, 6)  # <s> a b a b </s>
    assert batch["context"][1, 1].tolist() == [0] * 6
    assert batch["tokens"].shape == (2, 4) and batch["label_y"].tolist() == [1, 0]
    assert [len(index) for index in tokens.batch_indices(2, batching="bucketed")] == [2, 1]


def test_a_plain_split_batches_without_context(tmp_path: Path) -> None:
    path = tmp_path / "train.pt"
    data = numericalise(Split([["a"], ["a", "a"]]), Vocab(["a"]), 4)
    torch.save({k: v for k, v in data.items() if k != "truncated"}, path)
    assert set(TokenSplit.load(path).batch(torch.tensor([0, 1]))) == {"tokens", "lengths", "index"}


def test_token_split_checks_its_context_rows() -> None:
    tokens, lengths = torch.ones(2, 3, dtype=torch.long), torch.full((2,), 3)
    with pytest.raises(ValueError, match="come together"):
        TokenSplit(tokens, lengths, {}, contexts=torch.ones(2, 1, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="2 responses but 1 contexts"):
        TokenSplit(tokens, lengths, {}, torch.ones(1, 1, 3, dtype=torch.long), torch.ones(1))


def digest(directory: Path) -> dict[str, str]:
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(directory.iterdir())
    }


def test_tokenize_dataset_writes_contexts_stats_and_a_vocabulary_with_the_dialogue_start(
    tmp_path: Path,
) -> None:
    options = {"train": 40, "valid": 8, "test": 8, "seed": 3}
    raw = fetch_dataset("synthetic_dialogue", tmp_path / "raw", None, options, progress=False)
    spec = get_dataset("synthetic_dialogue")
    stats = tokenize_dataset(raw, tmp_path / "one", spec, vocab_size=200, max_length=6)
    tokenize_dataset(raw, tmp_path / "two", spec, vocab_size=200, max_length=6)
    assert digest(tmp_path / "one") == digest(tmp_path / "two")
    vocab = Vocab.load(tmp_path / "one" / "vocab.json")
    assert "<d>" in vocab.stoi
    train = stats["splits"]["train"]
    splits = parse_synthetic_dialogue(raw)
    assert train["responses"] == train["sentences"] == len(splits["train"].sentences)
    assert train["dialogues"] == 40
    turns = [len(context) for context in splits["train"].contexts or ()]
    assert train["mean_context_turns"] == pytest.approx(np.mean(turns))
    assert sum(train["context_turns"].values()) == len(turns)
    assert set(train["context_turns"]) <= {"1", "2", "3", "4", "5"}
    assert train["context_turns_truncated"] > 0 and train["kept"] == {}
    test = torch.load(tmp_path / "one" / "test.pt", weights_only=True)
    assert test["contexts"].shape[1:] == (5, 8)
    whole = torch.load(tmp_path / "one" / "test_whole.pt", weights_only=True)
    assert whole["contexts"].shape[2] > 8
    assert torch.equal(whole["context_turns"], test["context_turns"])


def test_synthetic_dialogue_is_deterministic_and_its_answers_follow_the_context(
    tmp_path: Path,
) -> None:
    options = {"train": 30, "valid": 5, "test": 5, "num_topics": 3, "seed": 1}
    synthetic.write_dialogue_corpus(tmp_path / "one", options)
    synthetic.write_dialogue_corpus(tmp_path / "two", options)
    synthetic.write_dialogue_corpus(tmp_path / "three", {**options, "seed": 2})
    assert digest(tmp_path / "one") == digest(tmp_path / "two")
    assert digest(tmp_path / "one") != digest(tmp_path / "three")
    train = parse_synthetic_dialogue(tmp_path / "one")["train"]
    assert train.dialogue_count() == 30 and train.contexts is not None
    assert set(train.labels["topic"]) == {0, 1, 2}
    names = [topic.name for topic in synthetic.TOPICS[:3]]
    for words, context, topic, act in zip(
        train.sentences, train.contexts, train.labels["topic"], train.labels["act"], strict=True
    ):
        if act == 0:  # a question names its topic
            assert names[topic] in words
            continue
        assert names[topic] in context[-1]  # the answer's topic was just asked about
        own = synthetic.TOPICS[topic]
        content = {*own.nouns, *own.verbs, *own.adjectives}
        others = {
            word
            for other in synthetic.TOPICS[:3]
            if other is not own
            for word in (*other.nouns, *other.verbs, *other.adjectives)
        }
        assert not others & set(words)
        assert content & set(words) or set(words) & {*synthetic.SHARED.nouns}


def test_synthetic_dialogue_rejects_a_malformed_line(tmp_path: Path) -> None:
    for split in ("train", "valid", "test"):
        write(tmp_path / f"{split}.txt", "0\t0\twhat about farm ?\n\n")
    write(tmp_path / "valid.txt", "0\t0\thi\n0\thello\n")
    with pytest.raises(ValueError, match=r"valid.txt:2: expected topic<TAB>act<TAB>utterance"):
        parse_synthetic_dialogue(tmp_path)
