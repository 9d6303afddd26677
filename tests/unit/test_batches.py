"""Length-bucketed and shuffled batching of a token split (data/batches.py)."""

import itertools

import pytest
import torch

from latentrepro.data.batches import TokenSplit
from latentrepro.evaluation.text_vae import evaluate_text_vae
from latentrepro.models.text import TextVAE
from latentrepro.models.text.lstm_vae import BOS, EOS, PAD
from latentrepro.train import fit


def token_split(n=203, seed=0, vocab=12, max_words=15):
    """``n`` random sentences of 1..max_words words, <s> w.. </s> padded with <pad>."""
    g = torch.Generator().manual_seed(seed)
    words = torch.randint(1, max_words + 1, (n,), generator=g)
    tokens = torch.full((n, max_words + 2), PAD)
    for i, w in enumerate(words.tolist()):
        tokens[i, : w + 2] = torch.tensor([BOS, *torch.randint(3, vocab, (w,), generator=g), EOS])
    return TokenSplit(tokens, words + 2, {"y": torch.arange(n) % 3})


def epoch(split, batch_size, seed, batching="bucketed", limit=None):
    generator = None if seed is None else torch.Generator().manual_seed(seed)
    return split.batch_indices(batch_size, generator, limit, batching=batching)


@pytest.mark.parametrize("seed", [0, 1, None])
def test_every_sentence_once_per_epoch_in_full_batches(seed):
    split = token_split()
    batches = epoch(split, 16, seed)
    visited = torch.cat(batches)
    assert sorted(visited.tolist()) == list(range(len(split)))
    sizes = sorted(len(b) for b in batches)
    assert sizes == [203 % 16] + [16] * (203 // 16)
    assert len(batches) == split.num_batches(16)


@pytest.mark.parametrize("seed", [0, None])
def test_batches_are_consecutive_runs_of_the_length_order(seed):
    split = token_split()
    spans = sorted(
        (int(split.lengths[b].min()), int(split.lengths[b].max())) for b in epoch(split, 16, seed)
    )
    # Each batch's lengths end where the next batch's begin: no batch straddles another.
    for (_, high), (low, _) in itertools.pairwise(spans):
        assert high <= low
    # With about 13 sentences a length and batches of 16, no batch spans more than 3 lengths.
    assert max(high - low for low, high in spans) <= 2


def test_padding_nearly_vanishes_against_shuffled_batches():
    split = token_split(n=2000)

    def steps_per_token(batches):
        steps = sum(len(b) * (int(split.lengths[b].max()) - 1) for b in batches)
        return steps / int((split.lengths - 1).sum())

    assert steps_per_token(epoch(split, 32, 0)) < 1.05
    assert steps_per_token(epoch(split, 32, 0, "shuffled")) > 1.3


def test_the_seed_fixes_the_epoch_and_another_seed_changes_it():
    split = token_split()
    first, again, other = epoch(split, 16, 0), epoch(split, 16, 0), epoch(split, 16, 1)
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert [b.tolist() for b in first] != [b.tolist() for b in other]
    # Batches come in a random order, not shortest first.
    mins = [int(split.lengths[b].min()) for b in first]
    assert mins != sorted(mins)


def test_an_ordered_pass_visits_the_split_shortest_first():
    split = token_split()
    visited = torch.cat(epoch(split, 16, None))
    assert torch.equal(split.lengths[visited], split.lengths.sort(stable=True).values)


def test_a_limited_epoch_visits_the_sentences_of_the_shuffled_one():
    split = token_split()
    bucketed = torch.cat(epoch(split, 16, 3, limit=4))
    shuffled = torch.cat(epoch(split, 16, 3, "shuffled", limit=4))
    assert len(bucketed) == 64
    assert sorted(bucketed.tolist()) == sorted(shuffled.tolist())


def test_a_given_order_keeps_its_repeats():
    split = token_split()
    order = torch.tensor([5, 5, 5, 7, 1, 1, 0, 9, 9, 9, 9])
    batches = split.batch_indices(
        4, torch.Generator().manual_seed(0), order=order, batching="bucketed"
    )
    assert sorted(torch.cat(batches).tolist()) == sorted(order.tolist())


def test_unknown_batching_is_rejected():
    with pytest.raises(ValueError, match="batching"):
        token_split().batch_indices(4, batching="sorted")


def test_evaluation_rows_stay_in_split_order_under_bucketing():
    split = token_split(n=60)
    config = {
        "arch": {"embed_dim": 8, "hidden_dim": 16, "latent_dim": 3},
        "model": {
            "prior": {"name": "gaussian"},
            "regulariser": {"name": "kl", "schedule": {"name": "constant"}},
        },
    }
    torch.manual_seed(0)
    model = TextVAE.from_config(config, 12).eval()
    settings = {"iw_samples": 2, "batch_size": 8, "hole_samples": 10}
    _, latents = evaluate_text_vae(
        model, split, {**settings, "batching": "bucketed"}, 0, torch.device("cpu")
    )
    with torch.no_grad():
        mu, _ = model.posterior(split.batch(torch.arange(len(split))))
    torch.testing.assert_close(latents["mu"], mu, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("batching", ["bucketed", "shuffled"])
def test_training_sees_the_batching_train_batching_names(tmp_path, batching):
    split = token_split(n=96)
    config = {
        "arch": {"embed_dim": 8, "hidden_dim": 16, "latent_dim": 3},
        "model": {
            "prior": {"name": "gaussian"},
            "regulariser": {"name": "kl", "schedule": {"name": "constant"}},
            "optimizer": {"name": "adam", "lr": 0.01},
        },
        "train": {"epochs": 2, "batch_size": 16, "batching": batching},
        "device": "cpu",
    }
    torch.manual_seed(0)
    model = TextVAE.from_config(config, 12)
    seen = []
    step = model.training_step
    model.training_step = lambda batch, progress: (
        seen.append(batch["index"]),
        step(batch, progress),
    )[1]
    fit(model, split, token_split(n=20, seed=1), config, 0, tmp_path / "r.pt", False)
    assert len(seen) == 12
    spreads = [int(split.lengths[i].max() - split.lengths[i].min()) for i in seen]
    # 96 sentences over 15 lengths: bucketed batches span at most 3 lengths, shuffled ones most.
    assert (max(spreads) <= 3) == (batching == "bucketed")
    for e in range(2):
        generator = torch.Generator().manual_seed(0 * 1_000_003 + e)
        expected = split.batch_indices(16, generator, batching=batching)
        assert all(
            torch.equal(a, b) for a, b in zip(seen[6 * e : 6 * e + 6], expected, strict=True)
        )
