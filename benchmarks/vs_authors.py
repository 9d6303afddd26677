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

Training-step rows of the symbol-vector and diffusion EBM priors and of CLEL (each a median
over ``--steps`` pairs, resp. ``--clel-rounds``, of the paired speed-up theirs / ours of CPU time
per step; built and stepped by ``benchmarks/authors_steps.py``, whose docstring cites the
authors' lines, from the same weights on both sides):

- ``svebm step``: SVEBM-IB, bpucla/ibebm @ 315b645 ``unconditional_gen.py`` (``--ibebm``),
  against our ``svebm_ib_paper`` (paper profile): BiLSTM 1024 encoder, LSTM 512 decoder,
  embeddings 512, z 32, K = 125, 40 Langevin steps of 0.5, IB weight 50, KL weight 0.5; batch 30
  (their DailyDialog batch).
- ``ldebm step``: LDEBM, yuPeiyu98/LDEBM @ 37ebc1f ``workspace/unsup_attr_discovery.py``
  (``--ldebm``; the step as at 762-828, its prior ``workspace/modules/ldebm.py``) against our
  ``ldebm_paper``: the same text network, 12 spectral-normalised blocks of 200, 2 x 50 Langevin
  steps, KL 0.01, MI 0.05, cluster 0.5 with fixed random pseudo-labels; batch 128.
- ``clel step``: CLEL, hankook/CLEL @ ccccf50 (``--clel``; ``models/ebm.py``, ``train.py``
  42-55) against our ``clel`` (paper profile networks: the 6.96M-parameter ResNet energy and
  the ResNet-18 encoder) at a reduced, equal config on both sides: batch ``--clel-batch`` (8)
  and ``--clel-sgld`` (10) SGLD steps instead of 64 and 60 (a paper-size step takes minutes on
  one CPU thread), buffer 10,000, the strong augmentations on (kornia's on their side,
  our plain-torch one on ours).

Data: the two text rows use real shuffled batches of the tokenised DailyDialog training split
(``--dailydialog``, ``latentrepro download dailydialog`` then ``latentrepro tokenize dailydialog
--vocab-size 10000 --max-length 40``), each batch padded to its longest sentence and the same
tensor for both sides (LDEBM's own loader pads every batch to the split's longest sentence,
``compute_features`` at 590-628 and 738, which would make their step slower; not reproduced). The
CLEL row uses random images of the CIFAR-10 shape (uniform in [0, 1)); the cost of a step does
not depend on the pixel values.

The authors' scripts import modules this environment lacks or that do not load next to its CPU
torch (h5py, faiss, torchvision, kornia 0.6, ignite, tensorboard; none used by a training step
except kornia's augmentations and torchvision's ResNet-18): ``--shims DIR`` puts a directory of
stubs and installs first on ``sys.path`` and runs its ``sitecustomize.py`` (docs/clel.md and
docs/ldebm.md describe them). Every row is skipped when its checkout (or data) is not given.

Run from the repository root with one thread, on a tokenised PTB (``latentrepro tokenize``):

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/vs_authors.py data/processed/ptb \\
        --he ../authors/vae-lagging-encoder --dgvaes ../authors/DG-VAEs

and the step rows alone:

    OMP_NUM_THREADS=1 .venv/bin/python -W ignore benchmarks/vs_authors.py \\
        --rows svebm ldebm clel --dailydialog data/processed/dailydialog \\
        --ibebm ../authors/ibebm --ldebm ../authors/LDEBM --clel ../authors/CLEL --shims SHIMS
"""

from __future__ import annotations

import argparse
import importlib
import math
import runpy
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType, SimpleNamespace

import authors_steps
import torch
from authors_steps import Step
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
PTB_ROWS = ("epoch", "vae", "dg_vae", "iw", "iw_protocol")
STEP_ROWS = ("svebm", "ldebm", "clel")


def paired_row(label: str, ours: Step, theirs: Step, repeats: int, warmup: int = 2) -> str:
    """``repeats`` pairs of one step a side (the order alternating), after ``warmup`` pairs."""
    ratios, times = [], {"ours": [], "theirs": []}
    for r in range(repeats + warmup):
        pair = {}
        for name in ("ours", "theirs") if r % 2 == 0 else ("theirs", "ours"):
            pair[name] = (ours if name == "ours" else theirs)(r)
        if r >= warmup:
            ratios.append(pair["theirs"] / pair["ours"])
            for name in pair:
                times[name].append(pair[name])
    ms = {name: 1e3 * statistics.median(t) for name, t in times.items()}
    return f"| {label}, ms/step (speed-up) | {ms['ours']:.0f} | {ms['theirs']:.0f} | {summary(ratios)} |"


def dailydialog_batches(split: TokenSplit, size: int, count: int, seed: int) -> list[dict]:
    """``count`` shuffled batches of ``size`` training sentences (padded to their longest)."""
    order = torch.randperm(len(split), generator=torch.Generator().manual_seed(seed))
    return [split.batch(index) for index in order[: size * count].split(size)]


def step_rows(args: argparse.Namespace) -> None:
    """The svebm, ldebm and clel rows (each where its checkout is given)."""
    wanted = [row for row in STEP_ROWS if row in args.rows]
    given = {"svebm": args.ibebm, "ldebm": args.ldebm, "clel": args.clel}
    for row in wanted:
        if given[row] is None:
            print(f"(row {row}: skipped, no --{'ibebm' if row == 'svebm' else row} checkout)")
    text = [row for row in ("svebm", "ldebm") if row in wanted and given[row] is not None]
    if text and args.dailydialog is None:
        print(f"(rows {', '.join(text)}: skipped, no --dailydialog)")
        text = []
    if text:
        train = TokenSplit.load(args.dailydialog / "train.pt")
        vocab = int(train.tokens.max()) + 1
    if "svebm" in text:
        batches = dailydialog_batches(train, 30, args.steps + 2, args.seed)
        ours, theirs, settings = authors_steps.svebm_pair(args.ibebm.resolve(), vocab, batches)
        label = f"svebm step (SVEBM-IB, DailyDialog batch 30, {settings})"
        print(paired_row(label, ours, theirs, args.steps), flush=True)
    if "ldebm" in text:
        batches = dailydialog_batches(train, 128, args.steps + 2, args.seed)
        generator = torch.Generator().manual_seed(args.seed)
        labels = torch.randint(0, 125, (len(train),), generator=generator)
        ours, theirs, settings = authors_steps.ldebm_pair(
            args.ldebm.resolve(), vocab, batches, labels
        )
        label = f"ldebm step (DailyDialog batch 128, {settings})"
        print(paired_row(label, ours, theirs, args.steps), flush=True)
    if "clel" in wanted and args.clel is not None:
        generator = torch.Generator().manual_seed(args.seed)
        shape = (args.clel_batch, 3, 32, 32)
        images = [torch.rand(shape, generator=generator) for _ in range(4)]
        ours, theirs, settings = authors_steps.clel_pair(
            args.clel.resolve(), images, args.clel_sgld
        )
        label = f"clel step (random CIFAR-10-shaped images, {settings})"
        print(paired_row(label, ours, theirs, args.clel_rounds, warmup=1), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "data", type=Path, nargs="?", help="tokenised PTB: train.pt and test.pt (PTB rows)"
    )
    parser.add_argument("--he", type=Path, help="vae-lagging-encoder checkout (PTB rows)")
    parser.add_argument("--dgvaes", type=Path, help="DG-VAEs checkout (dg_vae row)")
    parser.add_argument("--dailydialog", type=Path, help="tokenised DailyDialog (svebm, ldebm)")
    parser.add_argument("--ibebm", type=Path, help="bpucla/ibebm checkout (svebm row)")
    parser.add_argument("--ldebm", type=Path, help="yuPeiyu98/LDEBM checkout (ldebm row)")
    parser.add_argument("--clel", type=Path, help="hankook/CLEL checkout (clel row)")
    parser.add_argument(
        "--shims", type=Path, help="directory of import stubs for the authors' code (sys.path)"
    )
    parser.add_argument("--epoch-batches", type=int, default=200)
    parser.add_argument("--round", type=int, default=10, help="steps a side per epoch round")
    parser.add_argument("--steps", type=int, default=20, help="paired steps per step row")
    parser.add_argument("--clel-batch", type=int, default=8)
    parser.add_argument("--clel-sgld", type=int, default=10, help="SGLD steps, both sides")
    parser.add_argument("--clel-rounds", type=int, default=10, help="paired steps, clel row")
    parser.add_argument("--iw-samples", type=int, default=500)
    parser.add_argument("--iw-chunk", type=int, default=100)
    parser.add_argument("--iw-batch", type=int, default=5)
    parser.add_argument("--iw-rounds", type=int, default=6)
    parser.add_argument("--rows", nargs="+", default=[*PTB_ROWS, *STEP_ROWS])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    unknown = sorted(set(args.rows) - {*PTB_ROWS, *STEP_ROWS})
    if unknown:
        parser.error(f"--rows: unknown {unknown}; known: {', '.join((*PTB_ROWS, *STEP_ROWS))}")
    if args.shims is not None:
        use_shims(args.shims.resolve())
    global VOCAB
    torch.manual_seed(args.seed)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} thread(s); ratios > 1: ours faster"
    )
    print("| row | ours | theirs | median ours / theirs | 25-75 % | pairs |")
    print("|---|---:|---:|---:|---:|---:|")
    ptb = [row for row in PTB_ROWS if row in args.rows]
    if ptb and (args.data is None or args.he is None):
        print(f"(rows {', '.join(ptb)}: skipped, they need the PTB data and --he)")
        ptb = []
    if ptb:
        train = TokenSplit.load(args.data / "train.pt")
        test = TokenSplit.load(args.data / "test.pt")
        VOCAB = int(max(train.tokens.max(), test.tokens.max())) + 1
        print(f"(PTB rows: vocabulary {VOCAB}, batch {BATCH})")
        full = [b for b in one_length_batches(train, BATCH) if len(b) == BATCH]
        step_batches = [full[i] for i in torch.randperm(len(full)).tolist()]
    if "epoch" in ptb:
        print(epoch_row(args.he, train, args.epoch_batches, args.round, args.seed), flush=True)
    if "vae" in ptb:
        model = he_vae(args.he, VOCAB)
        print(step_row("vae step", model, KL, he_step, step_batches, train, args.steps), flush=True)
    if "dg_vae" in ptb and args.dgvaes is not None:
        model = dg_vae(args.dgvaes, VOCAB)
        print(
            step_row("dg_vae step", model, DG, dg_step, step_batches, train, args.steps), flush=True
        )
    if "iw" in ptb:
        at = (args.iw_batch, args.iw_chunk)
        print(iw_row(args.he, test, args.iw_samples, at, at, args.iw_rounds), flush=True)
    if "iw_protocol" in ptb:
        # Each side's own protocol: ours the paper profile's evaluate (batch 20, chunk 50),
        # He et al.'s one sentence at a time in chunks of 100 (text.py:163-178, 318, 518).
        row = iw_row(args.he, test, args.iw_samples, (20, 50), (1, 100), args.iw_rounds)
        print(row, flush=True)
    step_rows(args)


def use_shims(shims: Path) -> None:
    """Put ``shims`` first on ``sys.path`` and run its ``sitecustomize.py``, if any (it must
    run before torchvision loads)."""
    sys.path.insert(0, str(shims))
    if (shims / "sitecustomize.py").is_file():
        runpy.run_path(str(shims / "sitecustomize.py"))


if __name__ == "__main__":
    main()
