"""Our text VAE and DG-VAE against the authors' code: interleaved in one process, equal config.

Both sides are the PTB network of He et al. (2019): embedding 256, LSTM 256/256, z 32,
vocabulary 10,000, dropout 0.5 on the decoder's input and output, batch 32, SGD with gradient
clipping at 5. The authors' side is imported from local checkouts given as arguments
(``--he`` vae-lagging-encoder @ cdc4eb9, ``--dgvaes`` DG-VAEs @ 6ad9e59; never committed here)
and started from the same weights as ours (their state dict copied into our modules, which
have the same shapes; ``tests/unit/test_text_vae_architecture.py``).

Rows (each a median over rounds of the paired ratio ours / theirs, with its 25-75 % spread;
CPU time of this process, so other load on the machine cancels out in the ratio):

- ``vae epoch``: training steps over a real PTB epoch prefix (``--epoch-batches`` batches a
  side), tokens per second. Each side uses its own batching: ours ``train.batching:
  bucketed`` (data/batches.py); He et al.'s batches of one length each
  (``data/text_data.py:219-255``, rebuilt from the same numericalised sentences), shuffled.
  A round is ``--round`` consecutive steps of one side then of the other (the order
  alternating between rounds).
- ``vae step`` / ``dg_vae step``: one SGD step on the same batch of 32 PTB training sentences
  of one length for both sides; DG-VAEs' ``DGGaussianLSTMEncoder`` (|b| = batch, M = 32;
  ``modules/encoders/DGBasedKLD.py``) against our ``density_gap`` regulariser
  (``batch_chunk`` 32, ``samples`` 32).
- ``iw-nll``: the importance-weighted log p(x) with k = ``--iw-samples`` (500) drawn
  ``--iw-chunk`` at a time, on batches of ``--iw-batch`` test sentences of one length, the
  same weights and the same sentences on both sides (He et al.'s ``VAE.nll_iw``,
  ``modules/vae.py:100-129``; ours ``evaluate.iw_log_likelihood_sum``); sentences per second,
  and the mean NLL of both with the standard error of their difference.
- ``iw-nll`` at each side's protocol (row ``iw_protocol``): ours as the ``paper`` profile
  evaluates (batch 20, chunk 50), He et al.'s one test sentence at a time in chunks of 100
  (``text.py:163-178``, batch size 1 at ``text.py:318, 518``), on the same sentences.

Run from the repository root with one thread, on a tokenised PTB (``latentrepro tokenize``):

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/vs_authors.py data/processed/ptb \\
        --he ../authors/vae-lagging-encoder --dgvaes ../authors/DG-VAEs
"""

from __future__ import annotations

import argparse
import importlib
import math
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType, SimpleNamespace

import torch
from torch import nn

from latentrepro.data.batches import TokenSplit
from latentrepro.evaluation.text_vae import iw_log_likelihood_sum
from latentrepro.models.text import TextVAE

ARCH = {"embed_dim": 256, "hidden_dim": 256, "latent_dim": 32, "dropout": 0.5}
BATCH, CLIP, LR = 32, 5.0, 0.5
KL = {"name": "kl", "schedule": {"name": "constant"}}
DG = {"name": "density_gap", "batch_chunk": 32, "samples": 32}
#: Their parameter names -> ours (the shapes agree).
RENAME = {
    "encoder.linear.weight": "encoder.to_stats.weight",
    "encoder.hidden_state_to_posterior.weight": "encoder.to_stats.weight",
    "encoder.embedding.weight": "encoder.embed.weight",
    "decoder.trans_linear.weight": "decoder.init_cell.weight",
    "decoder.pred_linear.weight": "decoder.out.weight",
}


@contextmanager
def checkout(root: Path, name: str) -> Iterator[Callable[[str], ModuleType]]:
    """Within the block, import ``name``'s submodules from the checkout ``root``; afterwards the
    package is forgotten, so that two checkouts with a package of the same name load side by
    side (their constructors import lazily, so models are built inside the block)."""
    sys.path.insert(0, str(root))
    try:
        yield lambda sub: importlib.import_module(f"{name}.{sub}")
    finally:
        sys.path.remove(str(root))
        for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
            del sys.modules[key]


def uniform(scale: float) -> Callable[[torch.Tensor], None]:
    """The authors' initialiser: U(-scale, scale) (vae-lagging-encoder text.py:232-236)."""
    return lambda tensor: nn.init.uniform_(tensor, -scale, scale)


class Vocab:
    """What their decoders ask of a vocabulary: its size."""

    def __init__(self, size: int) -> None:
        self.size = size

    def __len__(self) -> int:
        return self.size


def he_vae(root: Path, vocab: int) -> nn.Module:
    """He et al.'s VAE (modules/vae.py) with their PTB settings and initialisation."""
    args = SimpleNamespace(ni=256, enc_nh=256, dec_nh=256, nz=32, device="cpu")
    args.dec_dropout_in = args.dec_dropout_out = ARCH["dropout"]
    with checkout(root, "modules") as module:
        encoder = module("encoders.enc_lstm").LSTMEncoder(args, vocab, uniform(0.01), uniform(0.1))
        decoder = module("decoders.dec_lstm").LSTMDecoder(
            args, Vocab(vocab), uniform(0.01), uniform(0.1)
        )
        return module("vae").VAE(encoder, decoder, args)


def dg_vae(root: Path, vocab: int) -> nn.Module:
    """DG-VAEs' DG-VAE (experiment.py:185-196: DGGaussianLSTMEncoder, LSTMDecoder, VAE)."""
    args = SimpleNamespace(
        vocab_size=vocab, embedding_size=256, hidden_size=256, dim_z=32, ni=256, dec_nh=256,
        nz=32, device="cpu", add_skip=False, add_bow=False, agg_size=None, kl_beta=1.0,
        dec_dropout_in=ARCH["dropout"], dec_dropout_out=ARCH["dropout"],
    )  # fmt: skip
    with checkout(root, "modules") as module:
        encoder = module("encoders.encoder").DGGaussianLSTMEncoder(
            args, uniform(0.01), uniform(0.1)
        )
        decoder = module("decoders.decoder").LSTMDecoder(
            args, Vocab(vocab), uniform(0.01), uniform(0.1)
        )
        return module("vae").VAE(encoder, decoder, args)


def ours_like(theirs: nn.Module, regulariser: dict, vocab: int) -> TextVAE:
    """Our model with ``theirs``'s weights."""
    config = {"arch": ARCH, "model": {"prior": {"name": "gaussian"}, "regulariser": regulariser}}
    model = TextVAE.from_config(config, vocab)
    # decoder.loss.weight is their CrossEntropyLoss's class weights, all ones (dec_lstm.py:45-47).
    state = {
        RENAME.get(k, k): v for k, v in theirs.state_dict().items() if k != "decoder.loss.weight"
    }
    if set(state) != set(model.state_dict()):
        raise RuntimeError(
            f"weights differ: ours only {sorted(set(model.state_dict()) - set(state))}, "
            f"theirs only {sorted(set(state) - set(model.state_dict()))}"
        )
    model.load_state_dict(state)
    return model


def one_length_batches(split: TokenSplit, size: int) -> list[torch.Tensor]:
    """Index batches of sentences of a single length, at most ``size`` each (He et al.'s
    batching, ``data/text_data.py:219-255``)."""
    batches = []
    for length in split.lengths.unique().tolist():
        rows = (split.lengths == length).nonzero().squeeze(1)
        batches += list(rows.split(size))
    return batches


class Side:
    """One model's SGD step on a batch, timed in CPU seconds."""

    def __init__(self, model: nn.Module, step: Callable[[nn.Module, object], torch.Tensor]):
        self.model, self.run = model.train(), step
        self.optimizer = torch.optim.SGD(model.parameters(), lr=LR)

    def step(self, batch: object) -> float:
        started = time.process_time()
        loss = self.run(self.model, batch)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(self.model.parameters(), CLIP)
        self.optimizer.step()
        return time.process_time() - started


def our_step(model: nn.Module, batch: dict) -> torch.Tensor:
    return model.training_step(batch, 1.0)[0]


def he_step(model: nn.Module, tokens: torch.Tensor) -> torch.Tensor:
    return model.loss(tokens, 1.0, nsamples=1)[0].mean()  # modules/vae.py:79-97


def dg_step(model: nn.Module, tokens: torch.Tensor) -> torch.Tensor:
    return model(tokens, 1.0)[0]  # DG-VAEs modules/vae.py:18-32


def summary(ratios: list[float]) -> str:
    q = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratios[0]] * 3
    return f"{statistics.median(ratios):.2f} | {q[0]:.2f}-{q[2]:.2f} | {len(ratios)}"


def epoch_row(he: Path, split: TokenSplit, batches: int, per_round: int, seed: int) -> str:
    theirs_model = he_vae(he, VOCAB)
    ours = Side(ours_like(theirs_model, KL, VOCAB), our_step)
    theirs = Side(theirs_model, he_step)
    generator = torch.Generator().manual_seed(seed)
    our_batches = split.batch_indices(BATCH, generator, batching="bucketed")[:batches]
    their_batches = one_length_batches(split, BATCH)
    pick = torch.randperm(len(their_batches), generator=generator)[:batches].tolist()
    their_batches = [their_batches[i] for i in pick]
    for index in our_batches[:2]:  # warm-up
        ours.step(split.batch(index))
        theirs.step(split.tokens[their_batches[0], : int(split.lengths[their_batches[0]][0])])
    ratios, totals = [], {"ours": [0.0, 0], "theirs": [0.0, 0]}
    for r, start in enumerate(range(0, batches, per_round)):
        rate = {}
        for name in ("ours", "theirs") if r % 2 == 0 else ("theirs", "ours"):
            seconds = tokens = 0
            for index in (our_batches if name == "ours" else their_batches)[
                start : start + per_round
            ]:
                lengths = split.lengths[index]
                if name == "ours":
                    seconds += ours.step(split.batch(index))
                else:
                    seconds += theirs.step(split.tokens[index, : int(lengths[0])])
                tokens += int((lengths - 1).sum())
            rate[name] = tokens / seconds
            totals[name][0] += seconds
            totals[name][1] += tokens
        ratios.append(rate["ours"] / rate["theirs"])
    ours_rate = totals["ours"][1] / totals["ours"][0]
    theirs_rate = totals["theirs"][1] / totals["theirs"][0]
    return (
        f"| vae epoch, tokens/s (first {batches} batches a side) | {ours_rate:,.0f} | "
        f"{theirs_rate:,.0f} | {summary(ratios)} |"
    )


def step_row(
    label: str, theirs_model: nn.Module, regulariser: dict, step, batches, split, repeats: int
) -> str:
    ours = Side(ours_like(theirs_model, regulariser, VOCAB), our_step)
    theirs = Side(theirs_model, step)
    ratios, times = [], {"ours": [], "theirs": []}
    for r in range(repeats + 2):
        index = batches[r % len(batches)]
        tokens = split.tokens[index, : int(split.lengths[index][0])]
        pair = {}
        for name in ("ours", "theirs") if r % 2 == 0 else ("theirs", "ours"):
            side = ours if name == "ours" else theirs
            pair[name] = side.step(split.batch(index) if name == "ours" else tokens)
        if r >= 2:  # two warm-up pairs
            ratios.append(pair["theirs"] / pair["ours"])
            for name in pair:
                times[name].append(pair[name])
    ms = {name: 1e3 * statistics.median(t) for name, t in times.items()}
    return f"| {label}, ms/step (speed-up) | {ms['ours']:.0f} | {ms['theirs']:.0f} | {summary(ratios)} |"


@torch.no_grad()
def iw_row(
    he: Path,
    split: TokenSplit,
    k: int,
    ours_at: tuple[int, int],
    theirs_at: tuple[int, int],
    rounds: int,
) -> str:
    """IW-NLL of the same sentences (groups of ``ours_at[0]`` of one length) by both sides,
    each at its (batch, chunk); ``theirs_at[0]`` must divide ``ours_at[0]``."""
    theirs = he_vae(he, VOCAB).eval()
    ours = ours_like(theirs, KL, VOCAB).eval()
    size = ours_at[0]
    batches = [b for b in one_length_batches(split, size) if len(b) == size]
    picks = torch.randperm(len(batches), generator=torch.Generator().manual_seed(1))[:rounds]
    ratios, nll = [], {"ours": [], "theirs": []}
    for r, i in enumerate(picks.tolist()):
        index = batches[i]
        tokens = split.tokens[index, : int(split.lengths[index][0])]
        seconds = {}
        for name in ("ours", "theirs") if r % 2 == 0 else ("theirs", "ours"):
            started = time.process_time()
            if name == "ours":
                batch = split.batch(index)
                mu, logvar = ours.posterior(batch)
                value = -iw_log_likelihood_sum(ours, batch["tokens"], mu, logvar, k, ours_at[1])
            else:
                value = sum(
                    theirs.nll_iw(part, nsamples=k, ns=theirs_at[1]).sum().item()
                    for part in tokens.split(theirs_at[0])
                )
            seconds[name] = time.process_time() - started
            nll[name].append(value / size)
        ratios.append(seconds["theirs"] / seconds["ours"])
    diffs = [a - b for a, b in zip(nll["ours"], nll["theirs"], strict=True)]
    se = statistics.stdev(diffs) / math.sqrt(len(diffs)) if len(diffs) > 1 else math.nan
    label = f"iw-nll k={k}, ours batch {ours_at[0]} chunk {ours_at[1]}, theirs batch {theirs_at[0]} chunk {theirs_at[1]}"
    print(
        f"{label}: mean NLL over {len(diffs)} batches (nats/sentence) ours "
        f"{statistics.mean(nll['ours']):.3f}, theirs {statistics.mean(nll['theirs']):.3f}, "
        f"difference {statistics.mean(diffs):+.3f} +- {se:.3f} (standard error)"
    )
    return f"| {label}: speed-up | | | {summary(ratios)} |"


VOCAB = 10_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="tokenised PTB: train.pt and test.pt")
    parser.add_argument("--he", type=Path, required=True, help="vae-lagging-encoder checkout")
    parser.add_argument("--dgvaes", type=Path, help="DG-VAEs checkout (dg_vae row)")
    parser.add_argument("--epoch-batches", type=int, default=200)
    parser.add_argument("--round", type=int, default=10, help="steps a side per epoch round")
    parser.add_argument("--steps", type=int, default=20, help="paired steps per step row")
    parser.add_argument("--iw-samples", type=int, default=500)
    parser.add_argument("--iw-chunk", type=int, default=100)
    parser.add_argument("--iw-batch", type=int, default=5)
    parser.add_argument("--iw-rounds", type=int, default=6)
    parser.add_argument(
        "--rows", nargs="+", default=["epoch", "vae", "dg_vae", "iw", "iw_protocol"]
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    global VOCAB
    train, test = TokenSplit.load(args.data / "train.pt"), TokenSplit.load(args.data / "test.pt")
    VOCAB = int(max(train.tokens.max(), test.tokens.max())) + 1
    torch.manual_seed(args.seed)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), vocabulary {VOCAB}, "
        f"batch {BATCH}; ratios > 1: ours faster"
    )
    print("| row | ours | theirs | median ours / theirs | 25-75 % | pairs |")
    print("|---|---:|---:|---:|---:|---:|")
    full = [b for b in one_length_batches(train, BATCH) if len(b) == BATCH]
    step_batches = [full[i] for i in torch.randperm(len(full)).tolist()]
    if "epoch" in args.rows:
        print(epoch_row(args.he, train, args.epoch_batches, args.round, args.seed), flush=True)
    if "vae" in args.rows:
        model = he_vae(args.he, VOCAB)
        print(step_row("vae step", model, KL, he_step, step_batches, train, args.steps), flush=True)
    if "dg_vae" in args.rows and args.dgvaes is not None:
        model = dg_vae(args.dgvaes, VOCAB)
        print(
            step_row("dg_vae step", model, DG, dg_step, step_batches, train, args.steps), flush=True
        )
    if "iw" in args.rows:
        at = (args.iw_batch, args.iw_chunk)
        print(iw_row(args.he, test, args.iw_samples, at, at, args.iw_rounds), flush=True)
    if "iw_protocol" in args.rows:
        # Each side's own protocol: ours the paper profile's evaluate (batch 20, chunk 50),
        # He et al.'s one sentence at a time in chunks of 100 (text.py:163-178, 318, 518).
        row = iw_row(args.he, test, args.iw_samples, (20, 50), (1, 100), args.iw_rounds)
        print(row, flush=True)


if __name__ == "__main__":
    main()
