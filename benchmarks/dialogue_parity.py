"""Parity of the conditional priors p(z | c) of LDEBM's response generation with the authors' code,
on fixed weights, in float64.

As ``benchmarks/ldebm_parity.py`` does for the unconditional priors (and with its tables and
state-dict mapping), the authors' energy network and ours get the same weights, the same batch
of z and of contexts c, and the same noise (re-seeded before every comparison):

- LDEBM (yuPeiyu98/LDEBM @ 37ebc1f, ``workspace/modules/ldebm_ctx.py``: the context branch
  ``ce`` at :100-111 joined at :123 and :388-393; the training terms as
  ``workspace/conditional_gen_DD.py``:1268-1297 assembles them): the per-level and top-level
  EBM losses, the encoder-side prior term, their gradients, one Langevin step of every stage,
  a whole sampler run given c, and I(y; z) and the cluster cross-entropy at the level-0 input.
- SVEBM-IB (bpucla/ibebm @ 315b645, ``conditional_gen.py``: the energy on [z, c] at :810-816
  and :841-848, Langevin at :914-940, the latent term at :1222-1243): the EBM's contrastive
  term, one Langevin step and a 40-step run given c, and the gradients of the latent term with
  respect to the energy's weights.

Every row must agree to 1e-5 relative. The authors' code is imported only from the paths given;
ibebm's module imports ``h5py``: pass ``--shims DIR`` with a stub ``h5py.py`` when it is not
installed. Run from the repository root:

    .venv/bin/python benchmarks/dialogue_parity.py --ldebm PATH/TO/LDEBM --ibebm PATH/TO/ibebm \\
        --shims DIR_WITH_AN_h5py_STUB
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ldebm_parity import Table, _seeded, _spectral_map, ldebm_mapping
from ldebm_parity import main as run_parity

from latentrepro.config import load_params
from latentrepro.models.priors import build_prior
from latentrepro.models.regularisers.ebm import symbol_information
from latentrepro.sampling.diffusion import sample_levels, sample_stage
from latentrepro.sampling.langevin import langevin

LATENT, SYMBOLS, BATCH, CONTEXT = 32, 125, 64, 512


def conditional_ldebm_pair(
    root: Path, steps: int, seed: int
) -> tuple[torch.nn.Module, torch.nn.Module]:
    """Their ``ldebm_ctx.LEBM`` and our prior of ``ldebm_dialogue_paper`` with its weights."""
    sys.path.insert(0, str(root / "workspace"))
    torch.manual_seed(seed)
    lebm = importlib.import_module("modules.ldebm_ctx").LEBM
    cfg = load_params()["models"]["ldebm_dialogue_paper"]
    prior = {**cfg["prior"], "energy": {"hidden": 200, "blocks": 12, "spectral_norm": True}}
    blocks, hidden = prior["energy"]["blocks"], prior["energy"]["hidden"]
    theirs = lebm(
        feat_dim=LATENT, ebm_hdim=hidden, emb_dim=hidden, emb_hdim=hidden, ctx_dim=CONTEXT,
        num_cls=SYMBOLS, num_blocks=blocks, max_T=6, beta_st=1e-4, beta_ed=2e-2,
        use_spc_norm=True, e_l_steps=steps, e_l_step_size=2e-3, langevin_noise_scale=1.0,
    )  # fmt: skip
    for p in theirs.parameters():  # conditional_gen_DD.py:1146-1147
        p.data.uniform_(-0.1, 0.1)
    theirs.train()
    with torch.no_grad():  # settle the power iteration's u, v on these weights
        for _ in range(20):
            z, c = torch.randn(8, LATENT), torch.randn(8, CONTEXT)
            theirs(torch.cat([z, c], -1), torch.zeros(8, dtype=torch.long))
    ours = build_prior(
        {**prior, "langevin": {"steps": steps}, "context_dim": CONTEXT}, LATENT
    ).double()
    mapping = {**ldebm_mapping(blocks), **_spectral_map("ce.0", "net.c_embed.0")}
    mapping.update(_spectral_map("ce.2", "net.c_embed.2"))
    source, target = theirs.state_dict(), ours.state_dict()
    missing = sorted(set(target) - set(mapping.values()))
    if missing:
        raise SystemExit(f"no mapping for our keys {missing}")
    ours.load_state_dict({mapping[k]: source[k] for k in mapping}, strict=True)
    theirs.eval(), ours.eval()
    return theirs, ours


def ldebm_parity(root: Path, steps: int, seed: int) -> bool:
    theirs, ours = conditional_ldebm_pair(root, steps, seed)
    schedule = ours.schedule
    g = torch.Generator().manual_seed(seed)
    z0, ctx = torch.randn(BATCH, LATENT, generator=g), torch.randn(BATCH, CONTEXT, generator=g)
    table = Table(
        f"conditional LDEBM (ldebm_ctx.py @ 37ebc1f vs this project), float64, batch {BATCH}, "
        f"z in R^{LATENT}, c in R^{CONTEXT}, K = {SYMBOLS}, {steps} Langevin steps per stage"
    )
    their_params, our_params = dict(theirs.named_parameters()), dict(ours.named_parameters())
    mapping = {**ldebm_mapping(12), **_spectral_map("ce.0", "net.c_embed.0")}
    mapping.update(_spectral_map("ce.2", "net.c_embed.2"))
    pairs = [(their_params[k], our_params[v]) for k, v in mapping.items() if k in their_params]

    z_theirs = z0.clone().requires_grad_(True)
    torch.manual_seed(seed + 1)
    x_pos, x_neg, x_top, x_above, t = theirs.sample_latent_training_pairs(z_theirs)
    level_top, neg_normal = theirs.get_prior_loss(x_pos, x_top, t, ctx)
    y_neg = theirs._p_sample_langevin(x_neg.detach(), t, ctx)
    loss_level = theirs._get_training_lss(x_pos.detach(), y_neg, t, ctx)
    top = torch.full((BATCH,), 5, dtype=torch.long)
    top_neg = theirs._p_sample_langevin(x_above.detach(), torch.tensor(5), ctx)
    loss_top = theirs._get_training_lss(x_top.detach(), top_neg, top, ctx)
    encoder_theirs = level_top + neg_normal
    (grad_z_theirs,) = torch.autograd.grad(encoder_theirs, z_theirs)
    (loss_level + loss_top).backward()
    grads_theirs = [p.grad.detach().clone() for p, _ in pairs]
    torch.manual_seed(seed + 1)
    drawn = theirs.sample_latent_training_pairs(z0)
    total_theirs = theirs.get_ebm_loss(*drawn, ctx).detach()

    z_ours = z0.clone().requires_grad_(True)
    with ours.given(ctx):
        torch.manual_seed(seed + 1)
        terms = ours.recovery_terms(z_ours)
    level_ours = (terms.negative_level - terms.data_level).mean()
    top_ours = (terms.negative_top - terms.data_top).mean()
    encoder_ours = (-terms.data).mean()
    (grad_z_ours,) = torch.autograd.grad(encoder_ours, z_ours, retain_graph=True)
    ours.zero_grad()
    (level_ours + top_ours).backward()
    grads_ours = [q.grad.detach().clone() for _, q in pairs]

    table.add("levels t drawn", t, terms.level)
    table.add("per-level training loss (loss)", loss_level, level_ours)
    table.add("top-level term (loss_T)", loss_top, top_ours)
    table.add("get_ebm_loss(..., ctx) = loss + loss_T", total_theirs, level_ours + top_ours)
    table.add("encoder-side prior term", encoder_theirs, encoder_ours)
    table.add("d encoder term / d z", grad_z_theirs, grad_z_ours)
    table.add(
        f"d (loss + loss_T) / d energy weights ({len(pairs)} tensors incl. the context branch)",
        torch.cat([a.flatten() for a in grads_theirs]),
        torch.cat([b.flatten() for b in grads_ours]),
    )

    theirs.e_l_steps = 1
    start = torch.randn(BATCH, LATENT, generator=torch.Generator().manual_seed(seed + 2))
    for level in range(6):
        step_theirs = _seeded(
            seed + 3,
            lambda level=level: theirs._p_sample_langevin(start, torch.tensor(level), ctx),
        )
        levels = torch.full((BATCH,), level, dtype=torch.long)
        with ours.given(ctx):
            step_ours = _seeded(
                seed + 3,
                lambda levels=levels: sample_stage(ours.stage_scores, schedule, levels, start, 1),
            )
        name = "top stage" if level == 5 else f"recovery t = {level}"
        scale = schedule.scale[level].item()
        table.add(f"one Langevin step given c, {name}", step_theirs.detach(), step_ours / scale)

    theirs.e_l_steps = steps
    sample_theirs = _seeded(seed + 4, lambda: theirs.p_sample_progressive(start, ctx).detach())
    with ours.given(ctx):
        sample_ours = _seeded(
            seed + 4, lambda: sample_levels(ours.stage_scores, schedule, start, steps)
        )
    table.add(f"sampler x_0 given c after 6 x {steps} steps", sample_theirs, sample_ours)

    labels = torch.randint(0, SYMBOLS, (BATCH,), generator=torch.Generator().manual_seed(seed))
    t0 = torch.zeros(BATCH, dtype=torch.long)
    torch.manual_seed(seed + 5)
    y0 = theirs._q_sample(x_start=z0, t=t0) * theirs._extract(theirs.a_s_prev, t0 + 1, z0.shape)
    logits_theirs = theirs.ebm_prior(y0, t0, ctx, use_cls_output=True)
    with ours.given(ctx):
        torch.manual_seed(seed + 5)
        logits_ours = ours.symbol_logits(ours.symbol_input(z0))
    table.add(
        "I(y; z) given c at y_0", theirs.compute_mi(y0, t0, ctx), symbol_information(logits_ours)
    )
    table.add(
        "cluster cross-entropy given c",
        torch.nn.functional.cross_entropy(logits_theirs, labels),
        torch.nn.functional.cross_entropy(logits_ours, labels),
    )
    return table.print()


def svebm_parity(root: Path, seed: int) -> bool:
    sys.path.insert(0, str(root))
    module = importlib.import_module("conditional_gen")
    args = module.parser.parse_args([])
    model = module.RNNVAE(args, {"<pad>": 0}, vocab_size=20, latent_dim=LATENT)
    for p in model.parameters():  # conditional_gen.py:1102-1103
        p.data.uniform_(-0.1, 0.1)
    cfg = load_params()["models"]["svebm_ib_dialogue_paper"]["prior"]
    ours = build_prior({**cfg, "context_dim": CONTEXT}, LATENT).double()
    mapping = {
        f"prior_network.{i}.{kind}": f"net.layers.{i}.{kind}"
        for i in (0, 2, 4)
        for kind in ("weight", "bias")
    }
    source = model.state_dict()
    ours.load_state_dict({v: source[k] for k, v in mapping.items()}, strict=True)
    table = Table(
        f"conditional SVEBM-IB (ibebm conditional_gen.py @ 315b645 vs this project), float64, "
        f"batch {BATCH}, c in R^{CONTEXT}, {args.z_n_iters_prior} Langevin steps of "
        f"{args.prior_step_size}"
    )
    g = torch.Generator().manual_seed(seed)
    z, ctx = torch.randn(BATCH, LATENT, generator=g), torch.randn(BATCH, CONTEXT, generator=g)
    start = torch.randn(BATCH, LATENT, generator=g)

    positive = -model.ebm_prior(z, ctx).squeeze().mean()
    z_prior = _seeded(seed + 1, lambda: model.infer_prior_z(start, ctx, args)[0])
    negative = model.ebm_prior(z_prior.detach(), ctx).mean()
    (positive + negative).backward()
    grads_theirs = [p.grad.detach().clone() for p in model.prior_network.parameters()]
    with ours.given(ctx):
        torch.manual_seed(seed + 1)
        chains = langevin(ours.energy, start, ours.steps, ours.step_size, ours.noise)
        contrast = -ours.f(z).mean() + ours.f(chains.detach()).mean()
        contrast.backward()
        one_theirs = _seeded(
            seed + 2,
            lambda: model.infer_prior_z(
                start, ctx, argparse.Namespace(**{**vars(args), "z_n_iters_prior": 1})
            )[0],
        )
        one_ours = _seeded(seed + 2, lambda: langevin(ours.energy, start, 1, ours.step_size))
    grads_ours = [p.grad.detach().clone() for p in ours.net.parameters()]
    table.add("one Langevin step given c", one_theirs, one_ours)
    table.add(f"{args.z_n_iters_prior} Langevin steps given c", z_prior, chains)
    table.add("contrastive term -f(z, c) + f(z-, c)", positive + negative, contrast)
    for (name, _), a, b in zip(
        model.prior_network.named_parameters(), grads_theirs, grads_ours, strict=True
    ):
        table.add(f"d contrast / d energy {name}", a, b)
    return table.print()


if __name__ == "__main__":
    run_parity(ldebm_parity, svebm_parity, __doc__)
