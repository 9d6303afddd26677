"""One training step of the authors' SVEBM-IB, LDEBM and CLEL and of ours, from the same weights.

Used by the ``svebm``, ``ldebm`` and ``clel`` rows of ``benchmarks/vs_authors.py``. Each
``*_pair`` function imports the authors' code from a local checkout (never part of this
repository), builds their model with their settings and ours from the ``paper`` profile of
params.yaml, copies their weights into ours, and returns one step function for each side,
``step(round) -> CPU seconds`` (round r trains on the r-th batch, cyclically). The
construction reuses the state-dict mappings of ``benchmarks/ldebm_parity.py`` (the energy
networks) and ``benchmarks/clel_parity.py`` (all of CLEL); the text networks' mapping is here.

- SVEBM-IB: bpucla/ibebm @ 315b645 ``unconditional_gen.py``: the model ``RNNVAE`` (434-521;
  BiLSTM 1024 encoder, LSTM 512 decoder, embeddings 512, z 32, K = 125, a GELU MLP of 200),
  built and initialised U(-0.1, 0.1) as ``main`` does (708-719), one Adam with the EBM's group
  at lr 1e-4 and weight decay 1e-3 (728-736), and the step of the training loop (802-852):
  encode, reparameterise, decode, the masked KL, the EBM's positive and negative potentials
  with 40 Langevin steps of 0.5 from N(0, I) (``infer_prior_z``, 544-576), the information
  bottleneck, backward, clipping (5 and 1), Adam. The KL weight is 0.5, the top of their cyclical
  schedule; ours is at a progress where its schedule gives 0.5.
- LDEBM: yuPeiyu98/LDEBM @ 37ebc1f ``workspace/unsup_attr_discovery.py``: the model ``RNNVAE``
  (441-506; the same text network, ``modules/ldebm.py``'s ``LEBM`` with 12 spectral-normalised
  blocks as prior), built and initialised as ``main`` does (651-663, 672-681), and the step of
  the training loop (762-828): encode, reparameterise, decode, ``sample_latent_training_pairs``,
  ``get_prior_loss``, the masked entropy, ``get_ebm_loss`` (2 x 50 Langevin steps), I(y; z) and
  the cluster cross-entropy at the level-0 input, backward, clipping (5 and 10), Adam. The
  pseudo-labels are fixed random labels in 0..124 (the same on both sides); the per-epoch
  clustering that makes them is not part of a step.
- CLEL: hankook/CLEL @ ccccf50: ``JointModel`` (``models/ebm.py`` 30-125) as
  ``benchmarks/clel_parity.py`` builds it, and ``train.py``'s ``training_step`` (42-55): the EMA
  update of both networks, the forward pass (buffer draw, kornia strong augmentation, SGLD,
  both losses), backward, Adam (EBM) and SGD (encoder) with their schedulers. Ours: the training
  loop's step (``latentrepro.train.fit``): lr schedule, ``CLEL.training_step``, backward,
  both optimisers, ``after_step`` (EMA).

Ours runs the training loop's optimisers (``latentrepro.train.Optimisers``: one optimiser per
group, the group's clip norm) on ``training_step``'s loss, as ``fit`` does.
"""

from __future__ import annotations

import importlib
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from latentrepro.config import REPO_ROOT, load_params, train_config
from latentrepro.models.text.symbol_vae import SymbolTextVAE
from latentrepro.train import Optimisers

#: A side's step: round index -> CPU seconds of this process.
Step = Callable[[int], float]


@contextmanager
def authors_code(root: Path) -> Iterator[Callable[[str], ModuleType]]:
    """Within the block, import modules from the checkout ``root``; afterwards every module
    loaded from it is forgotten, so that checkouts with modules of the same name (``modules``,
    ``utils``, ``data``, ``logger``) load side by side. Models are built inside the block."""
    before = set(sys.modules)
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module
    finally:
        sys.path.remove(str(root))
        for name in set(sys.modules) - before:
            module = sys.modules[name]
            # A namespace package (LDEBM's workspace/utils has no __init__.py) has no __file__.
            search = getattr(module, "__path__", None)
            paths = [getattr(module, "__file__", None) or ""]
            paths += list(search) if isinstance(search, Iterable) else []
            if any(str(path).startswith(str(root)) for path in paths):
                del sys.modules[name]


def paper_params() -> dict[str, Any]:
    return load_params(REPO_ROOT / "params.yaml", {"profile": "paper"})


def timed(fn: Callable[[], None]) -> float:
    started = time.process_time()
    fn()
    return time.process_time() - started


# ----------------------------------------------------------------------------------------------
# The DailyDialog text network shared by both authors' ``RNNVAE``s.

#: Their encoder / decoder parameter names -> ours (``models/text/rnn.py``); the two linear maps
#: to mu and log var are our one ``encoder.to_stats`` (mu first).
TEXT_RENAME = {
    "enc_word_vecs.": "encoder.embed.",
    "enc_rnn.": "encoder.rnn.",
    "dec_word_vecs.": "decoder.embed.",
    "dec_rnn.": "decoder.lstm.",
    "dec_linear.0.": "decoder.out.",
    "latent_hidden_linear_h.": "decoder.init_hidden.",
    "latent_hidden_linear_c.": "decoder.init_cell.",
}


def text_state(theirs: nn.Module, prior: dict[str, str]) -> dict[str, torch.Tensor]:
    """Their RNNVAE's weights in our ``SymbolTextVAE``'s names; ``prior`` maps their
    ``prior_network.*`` keys to ours without the leading ``prior.``."""
    # ``enc.*`` / ``dec.*`` are ModuleLists aliasing the same modules (ibebm unconditional_gen.py:463, 475;
    # LDEBM unsup_attr_discovery.py:470, 481).
    source = {k: v for k, v in theirs.state_dict().items() if not k.startswith(("enc.", "dec."))}
    state: dict[str, torch.Tensor] = {}
    for key, value in source.items():
        if key in prior:
            state["prior." + prior[key]] = value.detach()
            continue
        if key.startswith(("enc_latent_linear_", "prior_network.")):
            continue  # the prior's other buffers (LDEBM's positional table te.pe): not state here
        old = next((k for k in TEXT_RENAME if key.startswith(k)), None)
        if old is None:
            raise SystemExit(f"no mapping for their key {key}")
        state[TEXT_RENAME[old] + key[len(old) :]] = value.detach()
    for kind in ("weight", "bias"):
        state[f"encoder.to_stats.{kind}"] = torch.cat(
            [source[f"enc_latent_linear_mean.{kind}"], source[f"enc_latent_linear_logvar.{kind}"]]
        ).detach()
    return state


def our_symbol_vae(model: str, vocab: int, theirs: nn.Module, prior: dict[str, str]):
    """Our ``model`` (``svebm_ib_paper`` / ``ldebm_paper``) on DailyDialog with ``theirs``'s
    weights, its training-loop optimisers and its resolved config."""
    config = train_config(paper_params(), "dailydialog", model)
    ours = SymbolTextVAE.from_config(config, vocab).train()
    state = text_state(theirs, prior)
    missing = sorted(set(ours.state_dict()) - set(state))
    extra = sorted(set(state) - set(ours.state_dict()))
    if missing or extra:
        raise SystemExit(f"weights differ: ours only {missing}, theirs only {extra}")
    ours.load_state_dict(state, strict=True)
    return ours, Optimisers.for_model(ours, config["model"]), config


def their_optimiser(
    model: nn.Module, args: Any
) -> tuple[torch.optim.Optimizer, list[nn.Parameter], list[nn.Parameter]]:
    """One Adam over the prior's group and the rest (both scripts: unconditional_gen.py:728-736,
    unsup_attr_discovery.py:672-681)."""
    prior = [p for n, p in model.named_parameters() if "prior" in n and p.requires_grad]
    rest = [p for n, p in model.named_parameters() if "prior" not in n and p.requires_grad]
    optimizer = torch.optim.Adam(
        [{"params": prior, "lr": args.prior_lr, "weight_decay": args.ebm_reg}, {"params": rest}],
        lr=args.lr,
    )
    return optimizer, rest, prior


def our_text_step(
    model: SymbolTextVAE, optimisers: Optimisers, batches: list[dict], progress: float
) -> Step:
    """The training loop's step (``latentrepro.train.fit``) on ``batches[round % len]``."""

    def step(r: int) -> float:
        batch = batches[r % len(batches)]

        def run() -> None:
            loss, _ = model.training_step(batch, progress)
            if not torch.isfinite(loss):
                raise SystemExit(f"ours: non-finite loss at round {r}")
            optimisers.step(loss)

        return timed(run)

    return step


# ----------------------------------------------------------------------------------------------
# SVEBM-IB


def svebm_pair(root: Path, vocab: int, batches: list[dict]) -> tuple[Step, Step, str]:
    """(ours, theirs, settings) for one SVEBM-IB training step on ``batches``."""
    from ldebm_parity import svebm_mapping

    with authors_code(root) as load:
        module = load("unconditional_gen")
        args = module.parser.parse_args([])
        theirs = module.RNNVAE(
            args, vocab_size=vocab, dec_word_dim=args.dec_word_dim, dec_h_dim=args.dec_h_dim,
            dec_num_layers=args.dec_num_layers, dec_dropout=args.dec_dropout,
            latent_dim=args.latent_dim,
        )  # fmt: skip
    for p in theirs.parameters():  # main, unconditional_gen.py:718-719
        p.data.uniform_(-0.1, 0.1)
    theirs.train()
    ours, optimisers, config = our_symbol_vae("svebm_ib_paper", vocab, theirs, svebm_mapping())
    kl_weight, progress = 0.5, 0.09  # their schedule's top (stop=0.5); ours at 0.09
    if ours.regulariser.schedule(progress) != kl_weight:
        raise SystemExit(f"our KL weight at {progress} is not {kl_weight}")
    optimizer, likelihood, prior_params = their_optimiser(theirs, args)
    criterion = nn.NLLLoss(ignore_index=0, reduction="sum")  # <pad> is 0 on both sides
    mi_weight = config["model"]["regulariser"]["mi_weight"]
    assert (args.z_n_iters_prior, args.prior_step_size, args.num_cls, mi_weight) == (
        ours.prior.steps, ours.prior.step_size, ours.prior.symbols, 50.0,
    )  # fmt: skip

    def their_step(r: int) -> float:
        sents = batches[r % len(batches)]["tokens"]

        def run() -> None:  # unconditional_gen.py:802-852 (a KL weight > 0: not ae_train)
            batch_size = sents.size(0)
            optimizer.zero_grad()
            mu, log_var = theirs.encoder(sents, args)
            # Their z = torch.cuda.FloatTensor(std.size()).normal_(0, 1) (line 537) on the CPU.
            z_samples = theirs.sample_amortized_posterior_sample(mu, log_var, torch.randn_like(mu))
            preds = theirs.decoder(sents, z_samples, dropout=args.dec_dropout)
            labels = sents[:, 1:].contiguous()
            nll_abp = criterion(preds.transpose(1, 2), labels) / batch_size
            loss_g_kl = -0.5 * (1 + log_var - mu**2 - log_var.exp())
            kl_mask = (loss_g_kl > args.dim_target_kl).float()
            loss_g_kl = (kl_mask * loss_g_kl).sum(dim=1).mean()
            loss_g_ebm_cross_ent = -theirs.ebm_prior(z_samples.detach()).squeeze().mean()
            mi = theirs.compute_mi(z_samples)
            z_0_prior = module.sample_p_0(sents, args)
            z_prior, _ = theirs.infer_prior_z(z_0_prior, args)
            negative_potential = theirs.ebm_prior(z_prior.detach()).mean()
            nll_abp.item()  # train_nll_abp += nll_abp.item() * batch_size (line 833)
            abp_loss = (
                nll_abp
                + kl_weight * (loss_g_kl + loss_g_ebm_cross_ent + negative_potential)
                - 50 * mi
            )
            optimizer.zero_grad()
            abp_loss.backward()
            nn.utils.clip_grad_norm_(likelihood, args.max_grad_norm)
            nn.utils.clip_grad_norm_(prior_params, args.max_grad_norm_prior)
            optimizer.step()

        return timed(run)

    settings = (
        f"K = {args.num_cls}, {args.z_n_iters_prior} Langevin steps of {args.prior_step_size}, "
        f"KL weight {kl_weight}, IB weight {mi_weight}"
    )
    return our_text_step(ours, optimisers, batches, progress), their_step, settings


# ----------------------------------------------------------------------------------------------
# LDEBM


def ldebm_pair(
    root: Path, vocab: int, batches: list[dict], labels: torch.Tensor
) -> tuple[Step, Step, str]:
    """(ours, theirs, settings) for one LDEBM training step on ``batches``; ``labels``: the
    pseudo-label of every training sentence (indexed by the batches' ``index``)."""
    from ldebm_parity import ldebm_mapping

    with authors_code(root / "workspace") as load:
        module = load("unsup_attr_discovery")
        args = module.parser.parse_args([])
        theirs = module.RNNVAE(
            args, vocab_size=vocab, dec_word_dim=args.dec_word_dim, dec_h_dim=args.dec_h_dim,
            dec_num_layers=args.dec_num_layers, dec_dropout=args.dec_dropout,
            latent_dim=args.latent_dim,
        )  # fmt: skip
    for p in theirs.parameters():  # main, unsup_attr_discovery.py:662-663
        p.data.uniform_(-0.1, 0.1)
    theirs.train()
    blocks = len(theirs.prior_network.layers)
    prior = {f"prior_network.{k}": v for k, v in ldebm_mapping(blocks).items()}
    ours, optimisers, config = our_symbol_vae("ldebm_paper", vocab, theirs, prior)
    # The clustering pass at an epoch's start (SymbolTextVAE.on_epoch_start) sets these.
    ours._pseudo_labels = labels
    regulariser = config["model"]["regulariser"]
    kl_weight = args.max_kl_weight
    assert (kl_weight, args.mutual_weight, args.cls_weight, args.z_n_iters_prior, blocks) == (
        regulariser["schedule"]["max"], regulariser["mi_weight"],
        regulariser["cluster"]["weight"], ours.prior.steps, len(ours.prior.net.blocks),
    )  # fmt: skip
    optimizer, likelihood, prior_params = their_optimiser(theirs, args)
    criterion = nn.NLLLoss(ignore_index=0, reduction="sum")
    net = theirs.prior_network

    def their_step(r: int) -> float:
        batch = batches[r % len(batches)]
        sents, pseudo_labels = batch["tokens"], labels[batch["index"]]

        def run() -> None:  # unsup_attr_discovery.py:762-828 (KL weight 0.01: not ae_train)
            batch_size = sents.size(0)
            optimizer.zero_grad()
            mu, log_var = theirs.encoder(sents, args)
            # Their z = torch.cuda.FloatTensor(std.size()).normal_(0, 1) (line 512) on the CPU.
            z_samples = theirs.sample_amortized_posterior_sample(mu, log_var, torch.randn_like(mu))
            preds = theirs.decoder(sents, z_samples, dropout=args.dec_dropout)
            labels_ = sents[:, 1:].contiguous()
            nll_abp = criterion(preds.transpose(1, 2), labels_) / batch_size
            x_pos, x_neg, x_T_1, x_T, t = net.sample_latent_training_pairs(z_samples)
            log_pos, neg_normal_ll = net.get_prior_loss(x_pos, x_T_1, t)
            loss_g_kl = -0.5 * (1 + log_var)
            kl_mask = (loss_g_kl > args.dim_target_kl).float()
            zkl = (kl_mask * loss_g_kl).sum(dim=1).mean()
            zkl += log_pos + neg_normal_ll
            cd = net.get_ebm_loss(x_pos, x_neg, x_T_1, x_T, t)
            t0 = torch.zeros(z_samples.size(0), dtype=torch.long, device=z_samples.device)
            z0 = net._q_sample(x_start=z_samples, t=t0) * net._extract(
                net.a_s_prev, t0 + 1, z_samples.shape
            )
            mi = net.compute_mi(z0, t0)
            logits = net.ebm_prior(z0, t0, use_cls_output=True)
            cls_loss = F.cross_entropy(logits, pseudo_labels.long())
            abp_loss = (
                nll_abp + kl_weight * (zkl + cd) - args.mutual_weight * mi
                + args.cls_weight * cls_loss
            )  # fmt: skip
            optimizer.zero_grad()
            abp_loss.backward()
            nn.utils.clip_grad_norm_(likelihood, args.max_grad_norm)
            nn.utils.clip_grad_norm_(prior_params, args.max_grad_norm_prior)
            optimizer.step()

        return timed(run)

    settings = (
        f"K = {args.num_cls}, {blocks} spectral-normalised blocks, 2 x {args.z_n_iters_prior} "
        f"Langevin steps, KL weight {kl_weight}, MI weight {args.mutual_weight}, cluster weight "
        f"{args.cls_weight}"
    )
    return our_text_step(ours, optimisers, batches, 0.0), their_step, settings


# ----------------------------------------------------------------------------------------------
# CLEL


def clel_pair(root: Path, images: list[torch.Tensor], sgld_steps: int) -> tuple[Step, Step, str]:
    """(ours, theirs, settings) for one CLEL training step on each of ``images`` in turn
    (float32, the paper's networks, ``sgld_steps`` SGLD steps on both sides)."""
    import clel_parity

    params = paper_params()
    buffer = train_config(params, "cifar10", "clel")["model"]["replay_buffer"]["size"]
    with authors_code(root) as load:
        architectures, utils = load("architectures"), load("utils")
        pair = clel_parity.build_pair(architectures, utils, params, sgld_steps, buffer)
    theirs, ours, config = pair.theirs, pair.ours.train(), pair.config
    model_cfg, budget = config["model"], config["train"]
    iterations = budget["iterations"]
    # train.py:29-33 (their optimisers) and 37-40 (EMA); their EMA decay as ours is set.
    adam, adam_schedule = utils.get_adam_optimizer(
        theirs.param_groups["ebm"], lr=1e-4, momentum=(0.0, 0.999), lr_warmup=2000
    )
    sgd, sgd_schedule = utils.get_sgd_optimizer(
        theirs.param_groups["encoder"], lr=3e-2, weight_decay=5e-4, num_iterations=iterations
    )
    pairs = [(adam, adam_schedule), (sgd, sgd_schedule)]
    ema_decay = ours.ema_decay
    optimisers = Optimisers.for_model(ours, model_cfg)
    # Both past the EMA's copying phase (their update at decay 0 vs ours: the same work).
    ours.steps_done.fill_(ours.ema_start + 1)

    def their_step(r: int) -> float:
        x = images[r % len(images)]

        def run() -> None:  # train.py:42-55
            theirs.train()
            theirs.update_ema_modules(decay=ema_decay)
            for optimizer, _ in pairs:
                optimizer.zero_grad()
            outputs = theirs((x, None))
            outputs["metrics/loss"].backward()
            for optimizer, scheduler in pairs:
                optimizer.step()
                scheduler.step()

        return timed(run)

    def our_step(r: int) -> float:
        x = images[r % len(images)]

        def run() -> None:  # latentrepro.train.fit's step
            optimisers.schedule(r, iterations)
            loss, _ = ours.training_step({"x": x}, r / iterations)
            if not torch.isfinite(loss):
                raise SystemExit(f"ours: non-finite loss at round {r}")
            optimisers.step(loss)
            ours.after_step()

        return timed(run)

    settings = (
        f"batch {images[0].size(0)}, {sgld_steps} SGLD steps of "
        f"{model_cfg['sgld']['step_size']:g}, buffer {buffer}, strong augmentation (theirs "
        "kornia, ours plain torch)"
    )
    return our_step, their_step, settings
