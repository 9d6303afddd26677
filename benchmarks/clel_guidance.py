"""Why CLEL's guided samples miss the requested class: diagnostics and a sweep of the sampler.

Trains CLEL with the ``clel`` experiment of a profile (default ``fashion_cpu``; ``--beta``
replaces its ``per_model.clel.beta``) for ``--iterations`` through the model's
``training_step`` and the trainer's optimisers (or loads ``--checkpoint`` if it exists, writing
it otherwise), then prints on held-out images of the experiment's evaluation split:

1. nearest-prototype accuracy, argmax_k cos(v(x), d_k), of the encoder latents v = h(x) and of
   the energy network's projections v = g(f(x)) (online and EMA), with raw class prototypes
   (unit mean of the unit latents of a class, over the first ``--prototype-images`` training
   images) and centred ones (class mean minus the mean over those images). This says whether
   the latents carry the class at all, and whether g(f(.)) has learnt to read it;
2. the mean per-image gradient norms of E(x) and of cos(g(f(x)), d_k) at the replay-buffer
   starts, whose ratio sets the guidance weight at which the guidance moves the chain at all;
3. conditional accuracy under the workflow's classifier (not the CLEL encoder) for guided SGLD
   over a grid of weights, prototype kinds, step counts and networks (EMA / online).

    nice -n 10 .venv/bin/python benchmarks/clel_guidance.py \\
        --data data/images/processed/fashion_mnist \\
        --classifier results/clel/checkpoints/fashion_mnist/fid_classifier.pt \\
        --iterations 300 --checkpoint results/clel/guidance/clel300.pt
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from latentrepro.config import evaluate_split, load_params, merge_over, train_config
from latentrepro.data.images import ImageSplit
from latentrepro.evaluation.image_ebm import load_classifier
from latentrepro.models import build_model
from latentrepro.models.image.conditional import attribute_directions
from latentrepro.sampling.sgld import SGLDConfig, sgld
from latentrepro.train import Optimisers

ROOT = Path(__file__).resolve().parents[1]


def load_profile(profile: str, beta: float | None) -> dict:
    """params.yaml with ``profile`` active and, given ``beta``, CLEL's beta in its ``clel``
    experiment set to it (through load_params, so the result is validated)."""
    overrides = {"profile": profile}
    if beta is not None:
        current = load_params(ROOT / "params.yaml", overrides)["profiles"][profile]
        per_model = current["experiments"]["clel"].get("per_model", {})
        key = f"profiles.{profile}.experiments.clel.per_model"
        overrides[key] = merge_over(per_model, {"clel": {"beta": beta}})
    return load_params(ROOT / "params.yaml", overrides)


def train_or_load(args: argparse.Namespace, data: Path):
    """(model, label, reference split) of CLEL in the profile's ``clel`` experiment."""
    params = load_profile(args.profile, args.beta)
    dataset = params["profiles"][args.profile]["experiments"]["clel"]["datasets"][0]
    config = train_config(params, dataset, "clel")
    model = build_model(config, data, args.seed)
    label = params["archs"]["image_classifier"][dataset]["label"]
    held = (label, evaluate_split(params, dataset, "clel"))
    if args.checkpoint and Path(args.checkpoint).is_file():
        model.load_state_dict(torch.load(args.checkpoint, weights_only=False)["state_dict"])
        return model, *held
    train = ImageSplit.load(data / "train.pt")
    optimisers = Optimisers.for_model(model, config["model"])
    step, epoch, started = 0, 0, time.process_time()
    model.train()
    while step < args.iterations:
        shuffle = torch.Generator().manual_seed(args.seed * 1_000_003 + epoch)
        for batch in train.batches(config["train"]["batch_size"], shuffle, "cpu"):
            optimisers.schedule(step, args.iterations)
            loss, logs = model.training_step(batch, step / args.iterations)
            optimisers.step(loss)
            model.after_step()
            step += 1
            if step % 50 == 0:
                print(f"step {step} ({time.process_time() - started:.0f} CPU s): {logs}")
            if step >= args.iterations:
                break
        epoch += 1
    if args.checkpoint:
        Path(args.checkpoint).parent.mkdir(parents=True, exist_ok=True)
        torch.save({"config": config, "seed": args.seed, "state_dict": model.state_dict()},
                   args.checkpoint)  # fmt: skip
    return model, *held


@torch.no_grad()
def prototype_accuracy(v: torch.Tensor, labels: torch.Tensor, directions: torch.Tensor) -> float:
    """Fraction of rows whose most similar direction is their own class."""
    hit = (F.normalize(v, dim=1) @ F.normalize(directions, dim=1).T).argmax(1) == labels
    return hit.float().mean().item()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="fashion_cpu")
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--classifier", required=True)
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--beta", type=float)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--checkpoint")
    parser.add_argument("--per-class", type=int, default=20)
    parser.add_argument("--prototype-images", type=int, default=5000, help="training images")
    parser.add_argument("--weights", type=float, nargs="+", default=[1, 10, 100, 1000])
    parser.add_argument("--steps", type=int, nargs="+", default=[40, 100])
    parser.add_argument("--kinds", nargs="+", default=["raw", "centred"])
    parser.add_argument("--nets", nargs="+", default=["ema", "online"])
    parser.add_argument("--starts", nargs="+", default=["buffer", "uniform"])
    args = parser.parse_args()
    torch.set_num_threads(1)
    model, label, split = train_or_load(args, args.data)
    model.eval()
    full = ImageSplit.load(args.data / "train.pt")
    n = args.prototype_images
    train = ImageSplit(full.x[:n], {k: v[:n] for k, v in full.labels.items()})
    held = ImageSplit.load(args.data / f"{split}.pt")
    x, y = held.x[:1000], held.labels[label][:1000]
    raw, _ = attribute_directions(model, train, label, centred=False)
    centred, _ = attribute_directions(model, train, label, centred=True)
    kinds = {"raw": raw, "centred": centred}
    nets = {"ema": model.ema_net, "online": model.net}
    print("\n1. nearest-prototype accuracy on 1000 held-out images (chance 0.10)")
    print("| latent | raw prototypes | centred prototypes |\n|---|---|---|")
    latents = {"encoder h(x)": model.latent_direction(x)}
    with torch.no_grad():
        for name, net in nets.items():
            latents[f"g(f(x)), {name}"] = net.project(net(x))
    for name, v in latents.items():
        print(f"| {name} | {prototype_accuracy(v, y, raw):.3f} | "
              f"{prototype_accuracy(v, y, centred):.3f} |")  # fmt: skip

    generator = torch.Generator().manual_seed(0)
    begin = {
        "buffer": model.buffer.images[: args.per_class],
        "uniform": torch.rand(args.per_class, *model.shape, generator=generator),
    }
    starts = begin["buffer"]
    print("\n2. mean per-image gradient norm at the buffer starts")
    print("| net | grad E | grad cos (raw d_0) | grad cos (centred d_0) |\n|---|---|---|---|")
    for name, net in nets.items():
        cells = []
        for fn in (
            lambda z, n=net: model.norm_energy(n(z)),
            lambda z, n=net: F.cosine_similarity(n.project(n(z)), raw[:1], dim=1),
            lambda z, n=net: F.cosine_similarity(n.project(n(z)), centred[:1], dim=1),
        ):
            z = starts.clone().requires_grad_(True)
            (grad,) = torch.autograd.grad(fn(z).sum(), z)
            cells.append(grad.flatten(1).norm(dim=1).mean().item())
        print(f"| {name} | " + " | ".join(f"{c:.3g}" for c in cells) + " |")

    classifier = load_classifier(args.classifier, args.data).net
    print(f"\n3. conditional accuracy, {args.per_class} samples per class (chance 0.10)")
    print("| starts | net | prototypes | weight | SGLD steps | accuracy | CPU s |")
    print("|---|---|---|---|---|---|---|")
    rows = []
    for start, net_name, kind, weight, steps in itertools.product(
        args.starts, args.nets, args.kinds, args.weights, args.steps
    ):
        net, directions = nets[net_name], kinds[kind]
        config = SGLDConfig(steps, model.sgld.step_size, model.sgld.noise_std, model.sgld.grad_clip)
        started, hits = time.process_time(), []
        torch.manual_seed(0)
        for k, d in enumerate(directions):

            def energy(z, n=net, d=d, w=weight):
                f = n(z)
                return model.norm_energy(f) - w * F.cosine_similarity(n.project(f), d[None])

            with torch.no_grad():
                hits.append(classifier(sgld(energy, begin[start], config)).argmax(1) == k)
        accuracy = torch.cat(hits).float().mean().item()
        cost = time.process_time() - started
        row = {"starts": start, "net": net_name, "prototypes": kind, "weight": weight,
               "steps": steps, "accuracy": accuracy}  # fmt: skip
        rows.append(row)
        cells = " | ".join(f"{v:.3f}" if k == "accuracy" else f"{v}" for k, v in row.items())
        print(f"| {cells} | {cost:.0f} |", flush=True)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
