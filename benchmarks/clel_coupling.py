"""How well CLEL's projection g(f(x)) tracks the encoder latent h(x) during training.

Trains CLEL on the embedded digits with the ``cpu`` profile of a params file (through the
models' ``training_step`` and the trainer's optimisers) and every 50 iterations prints, on 500
training images with the encoder in eval mode, the matched cosine cos(g(f(x_i)), h(x_i)) and
its gap over mismatched pairs (i != j), for the online and the EMA network, next to the
training log's coupling cosine. Settings: the ``clel`` experiment of the cpu profile
(``train_config``, ``image_ebm_parts``); ``--beta`` replaces its ``per_model.clel.beta``. Uses
whichever ``latentrepro`` is importable, so an export of an older commit can be measured the
same way (one from before the ordinary config API: its ``clel_config`` and ``clel`` section):

    .venv/bin/python benchmarks/clel_coupling.py [--beta 1.0]
    PYTHONPATH=<export>/src .venv/bin/python benchmarks/clel_coupling.py --params <export>/params.yaml
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch
import torch.nn.functional as F

from latentrepro.config import load_params
from latentrepro.data.download import fetch_dataset
from latentrepro.data.images import ImageSplit
from latentrepro.data.registry import get_dataset
from latentrepro.data.tokenize import prepare_arrays
from latentrepro.models.image import CLEL
from latentrepro.train import Optimisers

ROOT = Path(__file__).resolve().parents[1]


def alignment(model: CLEL, net: torch.nn.Module, x: torch.Tensor) -> tuple[float, float]:
    """(matched cosine, matched minus mismatched cosine)."""
    net.eval()
    with torch.no_grad():
        g = F.normalize(net.project(net(x)), dim=1)
        z = model.latent_direction(x)
    cos = g @ z.T
    n = cos.size(0)
    matched = cos.diag().mean()
    return matched.item(), (matched - (cos.sum() - cos.diag().sum()) / (n * n - n)).item()


def clel_settings(path: Path, beta: float | None) -> tuple[dict, dict]:
    """``(arch, model)`` of CLEL on the digits in the cpu profile of the params file ``path``."""
    try:
        from latentrepro.config import train_config
        from latentrepro.models.image.settings import image_ebm_parts
    except ImportError:  # an export from before the ordinary config API
        from latentrepro.clel_config import clel_train_config

        params = load_params(path, {"profile": "cpu"})
        if beta is not None:
            params["clel"]["models"]["clel"]["beta"] = beta
            params["clel"]["profiles"]["cpu"].pop("beta", None)
        config = clel_train_config(params, "digits", "clel")
        return config["arch"], config["model"]
    overrides = {"profile": "cpu"}
    if beta is not None:
        overrides["profiles.cpu.experiments.clel.per_model.clel.beta"] = beta
    return image_ebm_parts(train_config(load_params(path, overrides), "digits", "clel"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=Path, default=ROOT / "params.yaml")
    parser.add_argument("--beta", type=float, help="override the cpu profile's CLEL beta")
    parser.add_argument("--iterations", type=int, default=300)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    arch, model_cfg = clel_settings(args.params, args.beta)
    params = load_params(args.params, {"profile": "cpu"})
    with tempfile.TemporaryDirectory() as tmp:
        options = params["datasets"]["digits"]["options"]
        raw = fetch_dataset("digits", Path(tmp) / "raw", None, options, progress=False)
        prepare_arrays(raw, Path(tmp) / "processed", get_dataset("digits"))
        train = ImageSplit.load(Path(tmp) / "processed" / "train.pt")
    model = CLEL((1, 8, 8), arch, model_cfg)
    optimisers = Optimisers.for_model(model, model_cfg)
    x = train.x[:500]
    print(f"beta {model.beta}; columns: matched cos / gap over mismatched pairs")
    print("| step | training-log cos | online | EMA |\n|---|---|---|---|")
    step, epoch = 0, 0
    while step < args.iterations:
        for batch in train.batches(64, torch.Generator().manual_seed(epoch), "cpu"):
            model.train()
            if hasattr(optimisers, "schedule"):
                optimisers.schedule(step, args.iterations)
            loss, logs = model.training_step(batch, step / args.iterations)
            optimisers.step(loss)
            model.after_step()
            step += 1
            if step % 50 == 0:
                cells = [alignment(model, net, x) for net in (model.net, model.ema_net)]
                row = " | ".join(f"{a:.3f} / {b:.3f}" for a, b in cells)
                print(f"| {step} | {logs['cosine']:.3f} | {row} |", flush=True)
            if step >= args.iterations:
                break
        epoch += 1


if __name__ == "__main__":
    main()
