"""Parity of this project's LDEBM and SVEBM-IB priors with the authors' code, on fixed weights.

Builds the authors' energy network and ours with the same weights (a state-dict mapping), feeds
both the same batch of z and the same noise (each implementation draws its noise from the global
generator in the same order, re-seeded before every comparison), and prints side by side, in
float64:

- LDEBM (yuPeiyu98/LDEBM @ 37ebc1f, ``workspace/modules/ldebm.py``; the objective assembled as
  in ``workspace/unsup_attr_discovery.py``:778-812): the per-level training loss (``loss`` of
  ``get_ebm_loss``), the top-level term (``loss_T``), the encoder-side prior term
  (``get_prior_loss``: level score, top score and 0.5 ||x_5||^2), their gradients with respect
  to the energy network's weights and to z, one Langevin step of every stage, a whole 6-stage
  sampler run, and the information bottleneck and cluster cross-entropy at the level-0 input.
- SVEBM-IB (bpucla/ibebm @ 315b645, ``unconditional_gen.py``:489-521, 544-575; the latent term
  assembled as in :805-834): the EBM's contrastive loss, the encoder-side prior term (the
  masked Gaussian KL), I(y; z), the whole latent term, one Langevin step, and the gradients with
  respect to the energy network's weights and to the posterior's mu and log variance.

Every row must agree to 1e-5 relative (max |ours - theirs| / max |theirs|). Spectral norm is
compared at fixed u, v (both networks in eval mode): the two implementations run their power
iteration in a different order (torch's old hook: v then u; the parametrisation used here: u
then v), which changes only the transient of u, v during training.

The authors' code is imported only from the paths given (never part of this repository). The
ibebm module imports ``h5py`` at load time for a test mode; pass ``--shims DIR`` with a stub
``h5py.py`` when it is not installed. Run from the repository root:

    .venv/bin/python benchmarks/ldebm_parity.py --ldebm PATH/TO/LDEBM --ibebm PATH/TO/ibebm \\
        --shims DIR_WITH_AN_h5py_STUB
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable
from pathlib import Path

import torch

from latentrepro.config import load_params
from latentrepro.models.priors import build_prior
from latentrepro.models.regularisers import ConstantSchedule
from latentrepro.models.regularisers.ebm import EBMRegulariser, symbol_information
from latentrepro.sampling.diffusion import sample_levels, sample_stage
from latentrepro.sampling.langevin import langevin

TOLERANCE = 1e-5
LATENT, SYMBOLS, BATCH = 32, 125, 64


class Table:
    """Rows of (quantity, theirs, ours, relative difference)."""

    def __init__(self, title: str) -> None:
        self.title, self.rows = title, []

    def add(self, name: str, theirs: torch.Tensor | float, ours: torch.Tensor | float) -> None:
        a, b = torch.as_tensor(theirs).double(), torch.as_tensor(ours).double()
        if a.shape != b.shape:
            raise SystemExit(f"{self.title} / {name}: shapes differ, {a.shape} vs {b.shape}")
        scale = a.abs().max().clamp_min(1e-300)
        self.rows.append((name, a, b, ((a - b).abs().max() / scale).item()))

    def print(self) -> bool:
        print(f"\n{self.title}")
        print(f"| quantity | theirs | ours | max rel. diff | within {TOLERANCE:g} |")
        print("|---|---|---|---|---|")
        for name, a, b, rel in self.rows:
            print(
                f"| {name} | {_show(a)} | {_show(b)} | {rel:.1e} | {'yes' if rel <= TOLERANCE else 'NO'} |"
            )
        return all(rel <= TOLERANCE for *_, rel in self.rows)


def _show(x: torch.Tensor) -> str:
    if x.numel() == 1:
        return f"{x.item():.10g}"
    return f"[{x.numel()} values] norm {x.norm().item():.8g}"


def _seeded(seed: int, fn: Callable[[], object]) -> object:
    torch.manual_seed(seed)
    return fn()


# ----------------------------------------------------------------------------------------------
# LDEBM


def _spectral_map(theirs: str, ours: str) -> dict[str, str]:
    """One spectral-normalised linear layer: old-hook names -> parametrisation names."""
    return {
        f"{theirs}.weight_orig": f"{ours}.parametrizations.weight.original",
        f"{theirs}.bias": f"{ours}.bias",
        f"{theirs}.weight_u": f"{ours}.parametrizations.weight.0._u",
        f"{theirs}.weight_v": f"{ours}.parametrizations.weight.0._v",
    }


def ldebm_mapping(blocks: int) -> dict[str, str]:
    """The authors' ``LEBM`` state-dict keys -> this project's ``DiffusionEBMPrior`` keys."""
    layers = {
        "ze.0": "net.z_embed.0", "ze.2": "net.z_embed.2",
        "te.model.0": "net.t_embed.0", "te.model.2": "net.t_embed.2",
        "concat_proj.1": "net.join.1", "out_z.1": "net.out.1",
        **{f"layers.{i}.1": f"net.blocks.{i}.body.1" for i in range(blocks)},
    }  # fmt: skip
    mapping: dict[str, str] = {}
    for theirs, ours in layers.items():
        mapping.update(_spectral_map(theirs, ours))
    return mapping


def build_ldebm_pair(
    ldebm_root: Path, steps: int, seed: int
) -> tuple[torch.nn.Module, torch.nn.Module]:
    sys.path.insert(0, str(ldebm_root / "workspace"))
    torch.manual_seed(seed)  # the weights and the power iteration's u, v: same every run
    LEBM = importlib.import_module("modules.ldebm").LEBM
    params = load_params()
    cfg = params["models"]["ldebm_paper"]["prior"]
    blocks, hidden = cfg["energy"]["blocks"], cfg["energy"]["hidden"]
    theirs = LEBM(
        feat_dim=LATENT, ebm_hdim=hidden, emb_dim=hidden, emb_hdim=hidden, num_cls=SYMBOLS,
        num_blocks=blocks, max_T=6, use_spc_norm=True, e_l_steps=steps, e_l_step_size=2e-3,
        langevin_noise_scale=1.0,
    )  # fmt: skip
    for p in theirs.parameters():  # their scripts' initialisation
        p.data.uniform_(-0.1, 0.1)
    theirs.train()
    with torch.no_grad():  # let the power iteration settle u, v on these weights
        for _ in range(20):
            theirs(torch.randn(8, LATENT), torch.zeros(8, dtype=torch.long))
    ours = build_prior({**cfg, "langevin": {"steps": steps}}, LATENT).double()
    source, target = theirs.state_dict(), ours.state_dict()
    mapping = ldebm_mapping(blocks)
    missing = sorted(set(target) - set(mapping.values()))
    if missing:
        raise SystemExit(f"no mapping for our keys {missing}")
    ours.load_state_dict({mapping[k]: source[k] for k in mapping}, strict=True)
    theirs.eval(), ours.eval()
    return theirs, ours


def ldebm_parity(ldebm_root: Path, steps: int, seed: int) -> bool:
    theirs, ours = build_ldebm_pair(ldebm_root, steps, seed)
    schedule = ours.schedule
    mapping = ldebm_mapping(ours.net.blocks.__len__())
    their_params = dict(theirs.named_parameters())
    our_params = dict(ours.named_parameters())
    pairs = [(their_params[k], our_params[v]) for k, v in mapping.items() if k in their_params]
    table = Table(
        f"LDEBM (yuPeiyu98/LDEBM @ 37ebc1f vs this project), float64, batch {BATCH}, z in R^{LATENT}, "
        f"K = {SYMBOLS}, {steps} Langevin steps per stage"
    )
    z0 = torch.randn(BATCH, LATENT, generator=torch.Generator().manual_seed(seed))

    # Training draw: levels t ~ U{0..4}, the pairs, both Langevin runs, their losses.
    z_theirs = z0.clone().requires_grad_(True)
    torch.manual_seed(seed + 1)
    x_pos, x_neg, x_top, x_above, t = theirs.sample_latent_training_pairs(z_theirs)
    prior_level_and_top, neg_normal = theirs.get_prior_loss(x_pos, x_top, t)
    y_neg = theirs._p_sample_langevin(x_neg.detach(), t)
    loss_level = theirs._get_training_lss(x_pos.detach(), y_neg, t)
    top = torch.full((BATCH,), 5, dtype=torch.long)
    top_neg = theirs._p_sample_langevin(x_above.detach(), torch.tensor(5))
    loss_top = theirs._get_training_lss(x_top.detach(), top_neg, top)
    encoder_theirs = prior_level_and_top + neg_normal
    (grad_z_theirs,) = torch.autograd.grad(encoder_theirs, z_theirs)
    (loss_level + loss_top).backward()
    grads_theirs = [p.grad.detach().clone() for p, _ in pairs]
    # get_ebm_loss itself, same draws: the decomposition above is the authors' function.
    torch.manual_seed(seed + 1)
    drawn = theirs.sample_latent_training_pairs(z0)
    total_theirs = theirs.get_ebm_loss(*drawn).detach()

    z_ours = z0.clone().requires_grad_(True)
    torch.manual_seed(seed + 1)
    terms = ours.recovery_terms(z_ours)
    level_ours = (terms.negative_level - terms.data_level).mean()
    top_ours = (terms.negative_top - terms.data_top).mean()
    encoder_ours = (-terms.data).mean()
    (grad_z_ours,) = torch.autograd.grad(encoder_ours, z_ours, retain_graph=True)
    ours.zero_grad()
    (level_ours + top_ours).backward()
    grads_ours = [q.grad.detach().clone() for _, q in pairs]

    table.add("levels t drawn (t ~ U{0..4})", t, terms.level)
    table.add("per-level training loss (loss)", loss_level, level_ours)
    table.add("top-level term (loss_T)", loss_top, top_ours)
    table.add("get_ebm_loss = loss + loss_T", total_theirs, level_ours + top_ours)
    table.add("encoder-side prior term", encoder_theirs, encoder_ours)
    table.add("d encoder term / d z", grad_z_theirs, grad_z_ours)
    rel = max(
        ((a - b).abs().max() / a.abs().max()).item()
        for a, b in zip(grads_theirs, grads_ours, strict=True)
    )
    table.rows.append(
        (f"d (loss + loss_T) / d energy weights ({len(pairs)} tensors, worst)",
         torch.cat([g.flatten() for g in grads_theirs]), torch.cat([g.flatten() for g in grads_ours]), rel)
    )  # fmt: skip

    # One Langevin step of every stage from the same x_{t+1}.
    theirs.e_l_steps = 1
    start = torch.randn(BATCH, LATENT, generator=torch.Generator().manual_seed(seed + 2))
    for level in range(6):
        step_theirs = _seeded(
            seed + 3, lambda level=level: theirs._p_sample_langevin(start, torch.tensor(level))
        )
        levels = torch.full((BATCH,), level, dtype=torch.long)
        step_ours = _seeded(seed + 3, lambda levels=levels, level=level: sample_stage(
            ours.f, schedule, levels, start, 1) / schedule.scale[level].item())  # fmt: skip
        name = "top stage (x_5 from x_6)" if level == 5 else f"recovery t = {level}"
        table.add(f"one Langevin step, {name}", step_theirs.detach(), step_ours)

    # A whole sampler run: 6 stages x `steps` from the same N(0, I) draw.
    theirs.e_l_steps = steps
    sample_theirs = _seeded(seed + 4, lambda: theirs.p_sample_progressive(start).detach())
    sample_ours = _seeded(seed + 4, lambda: sample_levels(ours.f, schedule, start, steps))
    table.add(f"sampler x_0 after 6 x {steps} steps", sample_theirs, sample_ours)

    # Prior samples at initialisation (the scripts' U(-0.1, 0.1) weights), from N(0, I).
    chains = 512
    noise = torch.randn(chains, LATENT, generator=torch.Generator().manual_seed(seed + 6))
    counts = {"theirs": 0, "ours": 0}
    grad_f = theirs._grad_f

    def counted_grad_f(*args):
        counts["theirs"] += 1
        return grad_f(*args)

    def counted_f(y, t):
        counts["ours"] += 1
        return ours.f(y, t)

    theirs._grad_f = counted_grad_f
    init_theirs = _seeded(seed + 7, lambda: theirs.p_sample_progressive(noise).detach())
    init_ours = _seeded(seed + 7, lambda: sample_levels(counted_f, schedule, noise, steps))
    for name, x in (("theirs", init_theirs), ("ours", init_ours)):
        std = x.std(0)
        print(
            f"prior samples at initialisation ({name}, {chains} chains): per-dimension std "
            f"min {std.min():.3f} median {std.median():.3f} max {std.max():.3f}; "
            f"{counts[name]} Langevin steps per sample"
        )

    # Information bottleneck and cluster cross-entropy at the level-0 input of a sample.
    labels = torch.randint(0, SYMBOLS, (BATCH,), generator=torch.Generator().manual_seed(seed))
    t0 = torch.zeros(BATCH, dtype=torch.long)
    torch.manual_seed(seed + 5)
    y0_theirs = theirs._q_sample(x_start=z0, t=t0) * theirs._extract(
        theirs.a_s_prev, t0 + 1, z0.shape
    )
    logits_theirs = theirs.ebm_prior(y0_theirs, t0, use_cls_output=True)
    torch.manual_seed(seed + 5)
    logits_ours = ours.symbol_logits(ours.symbol_input(z0))
    table.add(
        "I(y; z) at y_0 = a_1 x_0",
        theirs.compute_mi(y0_theirs, t0),
        symbol_information(logits_ours),
    )
    table.add(
        "cluster cross-entropy",
        torch.nn.functional.cross_entropy(logits_theirs, labels),
        torch.nn.functional.cross_entropy(logits_ours, labels),
    )
    return table.print()


# ----------------------------------------------------------------------------------------------
# SVEBM-IB


def svebm_mapping() -> dict[str, str]:
    """The authors' ``RNNVAE.prior_network`` keys (unconditional_gen.py:489-495: Linear, GELU,
    Linear, GELU, Linear) -> this project's ``LatentEBMPrior`` keys."""
    return {
        f"prior_network.{i}.{kind}": f"net.layers.{i}.{kind}"
        for i in (0, 2, 4)
        for kind in ("weight", "bias")
    }


def build_svebm_pair(ibebm_root: Path) -> tuple[object, object, object, torch.nn.Module]:
    sys.path.insert(0, str(ibebm_root))
    module = importlib.import_module("unconditional_gen")
    args = module.parser.parse_args([])
    model = module.RNNVAE(args, vocab_size=20, dec_word_dim=8, dec_h_dim=8, latent_dim=LATENT)
    for p in model.parameters():
        p.data.uniform_(-0.1, 0.1)
    params = load_params()
    ours = build_prior(params["models"]["svebm_ib_paper"]["prior"], LATENT).double()
    mapping = svebm_mapping()
    source = model.state_dict()
    ours.load_state_dict({v: source[k] for k, v in mapping.items()}, strict=True)
    return module, model, args, ours


def svebm_parity(ibebm_root: Path, seed: int) -> bool:
    module, model, args, ours = build_svebm_pair(ibebm_root)
    params = load_params()
    cfg = params["models"]["svebm_ib_paper"]
    mi_weight, kl_weight = cfg["regulariser"]["mi_weight"], 0.5
    table = Table(
        f"SVEBM-IB (bpucla/ibebm @ 315b645 vs this project), float64, batch {BATCH}, z in "
        f"R^{LATENT}, K = {SYMBOLS}, {args.z_n_iters_prior} Langevin steps of {args.prior_step_size}, "
        f"KL weight {kl_weight}, IB weight {mi_weight}"
    )
    g = torch.Generator().manual_seed(seed)
    mu0, logvar0 = (
        torch.randn(BATCH, LATENT, generator=g),
        torch.randn(BATCH, LATENT, generator=g) - 1,
    )
    eps = torch.randn(BATCH, LATENT, generator=g)

    def their_terms(mu, logvar):
        z = eps.mul((0.5 * logvar).exp()) + mu  # sample_amortized_posterior_sample
        kl = -0.5 * (1 + logvar - mu**2 - logvar.exp())
        kl = ((kl > args.dim_target_kl).float() * kl).sum(dim=1).mean()
        positive = -model.ebm_prior(z.detach()).squeeze().mean()
        mi = model.compute_mi(z)
        z_prior, _ = model.infer_prior_z(module.sample_p_0(z, args), args)
        negative = model.ebm_prior(z_prior.detach()).mean()
        latent = kl_weight * (kl + positive + negative) - mi_weight * mi
        return kl, positive + negative, mi, latent

    mu_t, logvar_t = mu0.clone().requires_grad_(True), logvar0.clone().requires_grad_(True)
    torch.manual_seed(seed + 1)
    kl_t, contrast_t, mi_t, latent_t = their_terms(mu_t, logvar_t)
    latent_t.backward()
    ebm_t = [p.grad.detach().clone() for p in model.prior_network.parameters()]

    mu_o, logvar_o = mu0.clone().requires_grad_(True), logvar0.clone().requires_grad_(True)
    regulariser = EBMRegulariser(ConstantSchedule(kl_weight), mi_weight)
    torch.manual_seed(seed + 1)
    z_o = mu_o + (0.5 * logvar_o).exp() * eps
    term, logs = regulariser(mu_o, logvar_o, z_o, ours, 0.0)
    term.mean().backward()
    ebm_o = [p.grad.detach().clone() for p in ours.net.parameters()]
    torch.manual_seed(seed + 1)
    with torch.no_grad():
        contrast_o = ours.density_loss(z_o.detach())[0].mean()
    kl_o = logs["kl_surrogate"] - contrast_o.item()

    table.add("EBM contrastive loss -f(z) + f(z-)", contrast_t.detach(), contrast_o)
    table.add("encoder-side prior term (masked KL)", kl_t.detach(), kl_o)
    table.add("I(y; z)", mi_t.detach(), logs["symbol_mi"])
    table.add("latent term w (KL + contrast) - 50 I", latent_t.detach(), term.mean().detach())
    table.add("d latent term / d mu", mu_t.grad, mu_o.grad)
    table.add("d latent term / d log var", logvar_t.grad, logvar_o.grad)
    for (name, _), a, b in zip(model.prior_network.named_parameters(), ebm_t, ebm_o, strict=True):
        table.add(f"d latent term / d energy {name}", a, b)
    start = torch.randn(BATCH, LATENT, generator=torch.Generator().manual_seed(seed + 2))
    one = argparse.Namespace(**{**vars(args), "z_n_iters_prior": 1})
    model.args = one
    step_t = _seeded(seed + 3, lambda: model.infer_prior_z(start, one)[0])
    step_o = _seeded(seed + 3, lambda: langevin(ours.energy, start, 1, ours.step_size))
    table.add("one Langevin step", step_t, step_o)
    return table.print()


def main(
    ldebm: Callable[[Path, int, int], bool] | None = None,
    svebm: Callable[[Path, int], bool] | None = None,
    doc: str | None = None,
) -> None:
    """The command line of a parity script: this one's checks, or those given (the
    conditional priors' in benchmarks/dialogue_parity.py)."""
    ldebm, svebm = ldebm or ldebm_parity, svebm or svebm_parity
    parser = argparse.ArgumentParser(description=(doc or __doc__).splitlines()[0])
    parser.add_argument("--ldebm", type=Path, help="checkout of yuPeiyu98/LDEBM")
    parser.add_argument("--ibebm", type=Path, help="checkout of bpucla/ibebm")
    parser.add_argument("--shims", type=Path, help="directory of stub modules (h5py) for ibebm")
    parser.add_argument("--steps", type=int, default=50, help="LDEBM Langevin steps per stage")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.ldebm is None and args.ibebm is None:
        parser.error("give --ldebm and/or --ibebm (local checkouts of the authors' code)")
    if args.shims is not None:
        sys.path.insert(0, str(args.shims))
    torch.set_default_dtype(torch.float64)
    ok = True
    if args.ldebm is not None:
        ok &= ldebm(args.ldebm.resolve(), args.steps, args.seed)
    if args.ibebm is not None:
        ok &= svebm(args.ibebm.resolve(), args.seed)
    print(f"\nall terms within {TOLERANCE:g}: {'yes' if ok else 'NO'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
