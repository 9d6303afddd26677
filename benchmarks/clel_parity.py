"""Parity of our CLEL (paper profile, CIFAR-10) with the authors' code, in float64.

Given a local checkout of hankook/CLEL (commit ccccf50; never part of this repository), builds
their energy network, encoder, sampler and ``JointModel`` and ours from the ``clel`` experiment
of ``params.yaml``'s paper profile (``train_config``, ``image_ebm_parts``), copies their weights
into ours through a state-dict mapping, and compares on the same batch: energies (eval and
training mode), one SGLD step with the same noise, every loss term of one training step, the
gradients of all parameters, the EMA update and the learning-rate schedules. Augmentations are
replaced by the identity on both sides (they are random: kornia and our plain-torch version
draw differently) and the negatives are given, since the authors' buffer draws with Python's
``random``. Prints a table and exits non-zero when a difference exceeds the tolerance.

Their code imports torchvision, kornia 0.6, ignite and tensorboard at module level; where those
do not load next to the CPU torch, put import shims on PYTHONPATH:

    PYTHONPATH=<shims> .venv/bin/python benchmarks/clel_parity.py /path/to/CLEL
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import torch

TOLERANCE = 1e-5
BATCH = 8


def load_authors(checkout: Path):
    """Their ``architectures``, ``utils`` and ``models`` packages (from ``checkout``)."""
    if not (checkout / "models" / "ebm.py").is_file():
        sys.exit(f"{checkout}: not a hankook/CLEL checkout (no models/ebm.py)")
    sys.path.insert(0, str(checkout))
    try:
        import architectures
        import models
        import utils
    except ImportError as err:
        sys.exit(f"importing the authors' code failed ({err}); put import shims on PYTHONPATH")
    return architectures, models, utils


def our_model(params: dict, sgld_steps: int | None = None):
    """Our CLEL of the ``clel`` experiment on CIFAR-10 (``sgld_steps``: another SGLD length)."""
    from latentrepro.config import train_config
    from latentrepro.models.image import CLEL
    from latentrepro.models.image.settings import image_ebm_parts

    config = train_config(params, "cifar10", "clel")
    if sgld_steps is not None:
        model_cfg = config["model"]
        config["model"] = {**model_cfg, "sgld": {**model_cfg["sgld"], "steps": sgld_steps}}
    arch, model = image_ebm_parts(config)
    return CLEL((3, 32, 32), arch, model), {**config, "arch": arch, "model": model}


def map_energy(theirs: dict[str, torch.Tensor], ours: dict[str, torch.Tensor]) -> dict:
    """Their ResNet's state dict in our EnergyNet's names: the same module tree, with the
    Normalize statistics stored as [1, C, 1, 1] here."""
    mapped = {}
    for key, value in theirs.items():
        mapped[key] = value.view(1, -1, 1, 1) if key in ("stem.0.mean", "stem.0.std") else value
    assert set(mapped) == set(ours), sorted(set(mapped) ^ set(ours))
    return mapped


def map_encoder(theirs: dict[str, torch.Tensor], ours: dict[str, torch.Tensor]) -> dict:
    """torchvision's ResNet-18 (conv1 = Normalize + 3x3 conv, fc = MLP) in our names."""
    names = ["conv1.1", "bn1"]
    for layer in range(1, 5):
        names += [f"layer{layer}.{block}" for block in range(2)]
    mapped = {}
    for key, value in theirs.items():
        if key.startswith("conv1.0."):
            new, value = "trunk.body.0." + key.split(".")[-1], value.view(1, -1, 1, 1)
        elif key.startswith("fc."):
            new = "head." + key[3:]
        else:
            prefix = next(n for n in names if key.startswith(n + "."))
            rest = key[len(prefix) + 1 :].replace("downsample.", "shortcut.")
            index = {"conv1.1": 1, "bn1": 2}.get(prefix, 4 + names.index(prefix) - 2)
            new = f"trunk.body.{index}.{rest}" if rest else f"trunk.body.{index}"
        mapped[new] = value
    assert set(mapped) == set(ours), sorted(set(mapped) ^ set(ours))
    return mapped


@dataclass
class Pair:
    """Their ``JointModel`` and our CLEL with the same weights, and our resolved config."""

    theirs: torch.nn.Module
    ours: torch.nn.Module
    config: dict


def build_pair(
    architectures: ModuleType,
    utils: ModuleType,
    params: dict,
    sgld_steps: int = 60,
    memory_size: int = 100,
) -> Pair:
    """Their model as ``configs/cifar10.yaml`` and ``train.py`` build it (``models/__init__.py``
    ~15-43; ``sgld_steps`` for ``sampler.num_steps``, ``memory_size`` for its buffer) and ours
    from the ``clel`` experiment with the same SGLD length, their weights copied into ours.
    Call where the authors' ``models`` package imports (after :func:`load_authors`)."""
    from models.ebm import JointModel
    from models.sampler import MCMCSampler

    ours, config = our_model(params, sgld_steps)
    stats = config["arch"]["energy"]["normalize"]
    mean, std = stats["mean"], stats["std"]
    ebm, ema_ebm = utils.build_ema_module(
        architectures.get_ebm, name="resnet", input_shape=(3, 32, 32),
        projection_layers=[128, 2048, 128], mean=mean, std=std,
    )  # fmt: skip
    encoder, ema_encoder = utils.build_ema_module(
        architectures.get_encoder, name="resnet18", input_shape=(3, 32, 32), out_dim=128,
        mean=mean, std=std,
    )  # fmt: skip
    sampler = MCMCSampler(
        input_shape=(3, 32, 32), num_steps=sgld_steps, step_size=100.0, step_noise=0.001,
        memory_size=memory_size, memory_init=0.001, augmentation="strong",
    )  # fmt: skip
    theirs = JointModel(
        ebm, ema_ebm, encoder, ema_encoder, sampler, input_shape=(3, 32, 32),
        beta=0.01, ebm_augmentation="strong", use_neg=True,
    )  # fmt: skip
    ours.net.load_state_dict(map_energy(ebm.state_dict(), ours.net.state_dict()))
    ours.encoder.load_state_dict(map_encoder(encoder.state_dict(), ours.encoder.state_dict()))
    ours.ema_net.load_state_dict(ours.net.state_dict())
    return Pair(theirs, ours, config)


def max_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a.double() - b.double()).abs().max().item()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("authors", type=Path, help="checkout of hankook/CLEL (ccccf50)")
    args = parser.parse_args()
    architectures, _, utils = load_authors(args.authors.resolve())
    from models.sampler import sgld as their_sgld

    from latentrepro.config import REPO_ROOT, load_params
    from latentrepro.sampling.sgld import sgld
    from latentrepro.train import lr_factor

    torch.set_default_dtype(torch.float64)
    torch.manual_seed(0)
    params = load_params(REPO_ROOT / "params.yaml", {"profile": "paper"})
    pair = build_pair(architectures, utils, params)
    theirs, ours, config = pair.theirs, pair.ours, pair.config
    ebm, ema_ebm, encoder = theirs.ebm, theirs.ema_ebm, theirs.encoder
    model_cfg, budget = config["model"], config["train"]

    rows: list[tuple[str, float]] = []
    x_pos = torch.rand(BATCH, 3, 32, 32) * 255 / 256 + torch.rand(BATCH, 3, 32, 32) / 256
    x_start = torch.rand(BATCH, 3, 32, 32)

    # 1. Energies, eval mode (stored spectral-norm vectors) and training mode (one power step).
    for mode in (False, True):
        ebm.train(mode), ours.net.train(mode)
        rows.append(
            (f"energy 0.5||f(x)||^2, {'train' if mode else 'eval'} mode",
             max_diff(theirs.energy_fn(x_pos), ours.energy(x_pos)))
        )  # fmt: skip

    # 2. One SGLD step from the same start with the same noise (online network, train mode).
    config_1 = ours.sgld.__class__(1, ours.sgld.step_size, ours.sgld.noise_std, ours.sgld.grad_clip)
    torch.manual_seed(1)
    their_step = their_sgld(x_start, theirs.energy_fn, 1, 100.0, 0.001, step_clip=100.0)
    torch.manual_seed(1)
    our_step = sgld(ours.energy, x_start, config_1)
    rows.append(("one SGLD step (same noise)", max_diff(their_step, our_step)))
    full = ours.sgld.__class__(
        ours.sgld.steps, ours.sgld.step_size, ours.sgld.noise_std, ours.sgld.grad_clip
    )
    torch.manual_seed(2)
    their_chain = their_sgld(x_start, theirs.energy_fn, 60, 100.0, 0.001, step_clip=100.0)
    torch.manual_seed(2)
    our_chain = sgld(ours.energy, x_start, full)
    rows.append((f"{full.steps} SGLD steps (same noise)", max_diff(their_chain, our_chain)))

    # 3. One training step on the same batch and negatives, augmentations = identity.
    identity = torch.nn.Identity()
    theirs.ebm_augmentation = theirs.encoder_augmentation = identity
    theirs.sample = lambda n, train=True: our_chain
    ours.augment, ours.dequantize = identity, False
    ours.negatives = lambda n: our_chain
    theirs.train(), ours.train()
    out = theirs((x_pos, None))
    loss, logs = ours.training_step({"x": x_pos}, 0.0)
    cd = (out["metrics/e_pos"] - out["metrics/e_neg"]).item()
    their_penalty = (
        out["metrics/loss"] - cd + 0.01 * out["metrics/s_pos"] - out["metrics/latent_loss"]
    )
    our_penalty = logs["loss"] - logs["cd"] + 0.01 * logs["cosine"] - logs["simclr"]
    for name, a, b in (
        ("loss: mean E(x+)", out["metrics/e_pos"].item(), logs["e_pos"]),
        ("loss: mean E(x-)", out["metrics/e_neg"].item(), logs["e_neg"]),
        ("loss: alpha mean(E+^2 + E-^2)", their_penalty.item(), our_penalty),
        ("loss: cos(g(f(x+)), h(aug x+))", out["metrics/s_pos"].item(), logs["cosine"]),
        ("loss: NT-Xent with g(f(x-)) negatives", out["metrics/latent_loss"].item(), logs["simclr"]),
        ("loss: total", out["metrics/loss"].item(), logs["loss"]),
    ):  # fmt: skip
        rows.append((name, abs(a - b)))
    theirs.zero_grad(), ours.zero_grad()
    out["metrics/loss"].backward()
    loss.backward()
    mapped_grads = map_energy(
        {k: p.grad for k, p in ebm.named_parameters()}, dict(ours.net.named_parameters())
    )
    our_grads = dict(ours.net.named_parameters())
    rows.append(
        ("gradient, energy network (all params)",
         max(max_diff(g, our_grads[k].grad) for k, g in mapped_grads.items()))
    )  # fmt: skip
    enc_grads = map_encoder(
        {k: p.grad for k, p in encoder.named_parameters()}, dict(ours.encoder.named_parameters())
    )
    our_enc = dict(ours.encoder.named_parameters())
    rows.append(
        ("gradient, encoder (all params)",
         max(max_diff(g, our_enc[k].grad) for k, g in enc_grads.items()))
    )  # fmt: skip
    our_state = ours.encoder.state_dict()
    their_state = map_encoder(encoder.state_dict(), our_state)
    rows.append(
        ("encoder batch-norm statistics after the step",
         max(max_diff(v, our_state[k]) for k, v in their_state.items()))
    )  # fmt: skip

    # 4. EMA: one averaging update of both, from the same weights.
    decay = 0.5 ** (64 / 20000)
    with torch.no_grad():
        for p in list(ebm.parameters()) + list(ours.net.parameters()):
            p.add_(0.01)
    theirs.update_ema_modules(decay=decay)
    ours.steps_done.fill_(ours.ema_start)  # past the copying phase
    ours.after_step()
    their_ema = map_energy(ema_ebm.state_dict(), ours.ema_net.state_dict())
    rows.append(
        ("EMA update (decay 0.5^(64/20000))",
         max(max_diff(v, ours.ema_net.state_dict()[k]) for k, v in their_ema.items()))
    )  # fmt: skip

    # 5. Learning-rate schedules over the 100k iterations.
    iterations = budget["iterations"]
    adam, adam_sched = utils.get_adam_optimizer([torch.nn.Parameter(torch.zeros(1))], 1e-4,
                                                (0.0, 0.999), 2000)  # fmt: skip
    sgd, sgd_sched = utils.get_sgd_optimizer([torch.nn.Parameter(torch.zeros(1))], 3e-2, 5e-4,
                                             iterations)  # fmt: skip
    worst = 0.0
    for step in range(iterations):
        ours_adam = model_cfg["optimizer"]["lr"] * lr_factor(
            model_cfg["optimizer"], step, iterations
        )
        enc_cfg = model_cfg["optimizers"]["encoder"]
        ours_sgd = enc_cfg["lr"] * lr_factor(enc_cfg, step, iterations)
        worst = max(worst, abs(adam.param_groups[0]["lr"] - ours_adam) / 1e-4,
                    abs(sgd.param_groups[0]["lr"] - ours_sgd) / 3e-2)  # fmt: skip
        adam.step(), adam_sched.step(), sgd.step(), sgd_sched.step()
    rows.append((f"lr schedules, {iterations} steps (relative)", worst))

    settings = [
        ("SGLD steps / step size / noise / clip",
         (60, 100.0, 0.001, 100.0),
         (full.steps, full.step_size, full.noise_std, full.grad_clip)),
        ("buffer size / reinit / augment", (10000, 0.001, True),
         (model_cfg["replay_buffer"]["size"], model_cfg["replay_buffer"]["reinit_prob"],
          model_cfg["replay_buffer"]["augment"])),
        ("EMA decay / start", (round(decay, 8), int(20000 / 64)),
         (round(ours.ema_decay, 8), ours.ema_start)),
        ("iterations / batch", (100000, 64), (iterations, budget["batch_size"])),
        ("beta / temperature / alpha", (0.01, 0.2, 1.0),
         (ours.beta, ours.temperature, ours.alpha)),
        ("energy parameters", sum(p.numel() for p in ebm.parameters()),
         sum(p.numel() for p in ours.net.parameters())),
        ("encoder parameters", sum(p.numel() for p in encoder.parameters()),
         sum(p.numel() for p in ours.encoder.parameters())),
    ]  # fmt: skip
    print(f"CLEL parity against {args.authors} (float64, batch {BATCH}, tolerance {TOLERANCE:g})")
    print()
    print("| quantity | max abs difference | within 1e-5 |")
    print("|---|---|---|")
    failed = False
    for name, diff in rows:
        ok = diff <= TOLERANCE
        failed |= not ok
        print(f"| {name} | {diff:.2e} | {'yes' if ok else 'NO'} |")
    print()
    print("| setting | authors | ours | same |")
    print("|---|---|---|---|")
    for name, a, b in settings:
        same = a == b
        failed |= not same
        print(f"| {name} | {a} | {b} | {'yes' if same else 'NO'} |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
