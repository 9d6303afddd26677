"""The dialogue_vae evaluation (evaluation/dialogue.py) and its examples table (report/dialogue.py)."""

from __future__ import annotations

import math

import pytest
import torch

from latentrepro.data.batches import TokenSplit
from latentrepro.evaluation.dialogue import evaluate_dialogue, response_examples, word_vectors
from latentrepro.metrics.word_vectors import WordVectors
from latentrepro.models.text.dialogue import DialogueVAE
from latentrepro.report.dialogue import response_examples as examples_table

ITOS = ["<pad>", "<s>", "</s>", "<unk>", "<d>", "hello", "there", "how", "are", "you", "fine"]
ARCH = {"embed_dim": 6, "hidden_dim": 8, "utterance_dim": 4, "latent_dim": 3, "dropout": 0.0}
SETTINGS = {
    "batch_size": 2,
    "responses": {
        "max_length": 6,
        "max_examples": None,
        "word_vectors": {"dim": 4, "window": 2, "min_count": 1, "epochs": 2},
    },
}


def split_of(pairs: list[tuple[list[list[int]], list[int]]]) -> TokenSplit:
    """A numericalised response split (the data stage's layout: PAD rows after the turns)."""
    width = max(len(t) + 2 for ctx, _ in pairs for t in ctx)
    length = max(len(r) + 2 for _, r in pairs)
    contexts = torch.zeros(len(pairs), 5, width, dtype=torch.long)
    tokens = torch.zeros(len(pairs), length, dtype=torch.long)
    for i, (ctx, response) in enumerate(pairs):
        for j, turn in enumerate(ctx):
            contexts[i, j, : len(turn) + 2] = torch.tensor([1, *turn, 2])
        tokens[i, : len(response) + 2] = torch.tensor([1, *response, 2])
    lengths = torch.tensor([len(r) + 2 for _, r in pairs])
    turns = torch.tensor([len(ctx) for ctx, _ in pairs])
    return TokenSplit(tokens, lengths, {}, contexts, turns)


PAIRS = [
    ([[4]], [5, 6]),
    ([[4], [5, 6]], [7, 8, 9, 10]),
    ([[4], [5, 6], [7, 8, 9, 10]], [10, 3]),
]


def model() -> DialogueVAE:
    torch.manual_seed(0)
    config = {"prior": {"name": "gaussian"}, "regulariser": {"name": "kl"}}
    return DialogueVAE.from_config({"arch": ARCH, "model": config}, len(ITOS))


class Echo(DialogueVAE):
    """Answers every context with its own reference response (a perfect responder)."""

    def respond(self, batch, max_length, generator=None, c=None):
        rows = zip(batch["tokens"].tolist(), batch["lengths"].tolist(), strict=True)
        return [row[1 : n - 1] for row, n in rows]


def test_a_perfect_responder_scores_full_bleu_and_unit_embedding_scores():
    echo = model()
    echo.__class__ = Echo
    split = split_of(PAIRS)
    metrics, _ = evaluate_dialogue(echo, split, SETTINGS, 0, torch.device("cpu"), split, ITOS)
    # unsmoothed corpus BLEU-4 (multi-bleu.perl): 100 needs one 4-gram, which example 2 has
    assert metrics["bleu"] == pytest.approx(100.0)
    for key in ("embedding_average", "embedding_extrema", "embedding_greedy"):
        assert metrics[key] == pytest.approx(1.0, abs=1e-9)
    # "fine <unk>": <unk> is dropped before the embedding scores (the authors' <...> filter)
    assert metrics["embedding_coverage"] == 1.0
    words = ["hello", "there", "how", "are", "you", "fine", "fine", "<unk>"]
    assert metrics["distinct_1"] == pytest.approx(len(set(words)) / len(words))
    assert metrics["responses"] == 3 and math.isfinite(metrics["rec"])
    assert "trained on the 3 training responses" in metrics["protocol_names"]["word_vectors"]


def test_the_evaluation_scores_the_first_examples_and_is_seeded():
    vae = model()
    split = split_of(PAIRS)
    limited = {**SETTINGS, "responses": {**SETTINGS["responses"], "max_examples": 2}}
    first, _ = evaluate_dialogue(vae, split, limited, 3, torch.device("cpu"), split, ITOS)
    again, _ = evaluate_dialogue(vae, split, limited, 3, torch.device("cpu"), split, ITOS)
    assert first["responses"] == 2 and first == again


def test_word_vectors_from_a_file_or_trained_but_not_both(tmp_path):
    path = tmp_path / "vectors.txt"
    path.write_text("2 2\nhello 1 0\nthere 0 1\n")
    split = split_of(PAIRS)
    vectors, described = word_vectors(split, ITOS, {"path": str(path)}, 0)
    assert isinstance(vectors, WordVectors) and set(vectors) == {"hello", "there"}
    assert str(path) in described
    with pytest.raises(ValueError, match=r"a path and training settings \['dim'\]"):
        word_vectors(split, ITOS, {"path": str(path), "dim": 4}, 0)


def test_examples_hold_the_context_turns_reference_and_response_as_words(tmp_path):
    echo = model()
    echo.__class__ = Echo
    examples = response_examples(echo, split_of(PAIRS), ITOS, 2, 6, 0)
    assert examples == [
        {"context": ["<d>"], "reference": "hello there", "generated": "hello there"},
        {
            "context": ["<d>", "hello there"],
            "reference": "how are you fine",
            "generated": "how are you fine",
        },
    ]
    records = [
        {"dataset": "d", "model": m, "seed": 0, "examples": examples}
        for m in ("b_model", "a_model")
    ]
    out = examples_table(records, ["a_model", "b_model"], tmp_path / "examples.md")
    text = out.read_text(encoding="utf-8")
    assert text.index("- a_model: how are you") < text.index("- b_model: how are you")
    assert "> hello there" in text and "- reference: hello there" in text
