"""Steps per second of the latent and image samplers at the CPU profiles' sizes.

Each row times one sampler call at the settings of params.yaml and prints Langevin (or SGLD)
steps per second, the median over ``--repeats`` calls after one warm-up call:

- ``ldebm`` (models.ldebm: z 32, K 125, 2 blocks of 200, 10 steps a stage): a training draw
  (``density_loss``, the recovery and the top stage, 2 x 10 steps) and a prior sample (6 x 10);
- ``ldebm_2d`` (models.ldebm_2d: z 2, K 16, 2 blocks of 100, 16 steps a stage), batch 64;
- ``svebm_ib`` (models.svebm_ib: z 32, K 125, 200-200 GELU, 40 steps of 0.5), batch 32;
- ``ldebm_paper`` (12 spectral-normalised blocks, 50 steps a stage), a training draw at batch 32;
- ``clel`` (the energy network of archs.image_ebm.digits on 1 x 8 x 8 digits, the 20 SGLD steps
  of the cpu profile's ``clel`` experiment, the online energy in training mode so spectral norm
  iterates every step), batch 64; an older checkout's params.yaml has them as clel.sizes.tiny
  and clel.profiles.cpu.sgld.

The script uses only interfaces that predate the sampler changes (``build_prior``, ``sample``,
``density_loss``, ``sgld``), so the same file measures an older checkout: run it with that
checkout's interpreter for "before" and this one's for "after", alternating (docs/speed.md):

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/samplers.py
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch

from latentrepro.config import load_params
from latentrepro.models.image.networks import EnergyNet
from latentrepro.models.priors import build_prior
from latentrepro.sampling.sgld import SGLDConfig, sgld

ROOT = Path(__file__).resolve().parents[1]


def _median_seconds(call: Callable[[], object], repeats: int) -> float:
    call()  # warm-up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def clel_tiny(params: dict) -> tuple[dict, dict]:
    """The digits energy network and the cpu profile's CLEL SGLD settings."""
    if "clel" in params:  # an older checkout's separate clel section
        clel = params["clel"]
        return clel["sizes"]["tiny"]["energy"], clel["profiles"]["cpu"]["sgld"]
    from latentrepro.config import settings_of

    experiment = params["profiles"]["cpu"]["experiments"]["clel"]
    sgld_cfg = settings_of(params, "clel", experiment)["sgld"]
    return params["archs"]["image_ebm"]["digits"]["energy"], sgld_cfg


def cases(params: dict) -> list[tuple[str, int, Callable[[], object]]]:
    """(name, sampler steps per call, call) for every row."""
    models = params["models"]

    def prior(name: str, latent_dim: int, **energy: object) -> torch.nn.Module:
        cfg = models[name]["prior"]
        if energy:
            cfg = {**cfg, "energy": {**cfg["energy"], **energy}, "langevin": {"steps": 50}}
        torch.manual_seed(0)
        return build_prior(cfg, latent_dim)

    ldebm, ldebm_2d = prior("ldebm", 32), prior("ldebm_2d", 2)
    paper = prior("ldebm", 32, blocks=12, spectral_norm=True)
    svebm = prior("svebm_ib", 32)
    z32, z2 = torch.randn(32, 32), torch.randn(64, 2)
    size, sgld_cfg = clel_tiny(params)
    net = EnergyNet(1, {**size, "downsamplings": 1}).train()
    config = SGLDConfig(sgld_cfg["steps"], sgld_cfg["step_size"], sgld_cfg["noise_std"])
    images = torch.rand(64, 1, 8, 8)

    def energy(x: torch.Tensor) -> torch.Tensor:
        return 0.5 * net(x).square().sum(1)

    return [
        ("ldebm train draw, batch 32", 2 * ldebm.steps, lambda: ldebm.density_loss(z32)),
        ("ldebm prior sample, 32", ldebm.schedule.pairs * ldebm.steps, lambda: ldebm.sample(32)),
        ("ldebm_2d train draw, batch 64", 2 * ldebm_2d.steps, lambda: ldebm_2d.density_loss(z2)),
        ("svebm_ib prior sample, 32", svebm.steps, lambda: svebm.sample(32)),
        ("ldebm_paper train draw, batch 32", 2 * paper.steps, lambda: paper.density_loss(z32)),
        ("clel tiny SGLD, batch 64", config.steps, lambda: sgld(energy, images, config)),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    params = load_params(ROOT / "params.yaml")
    print(f"{'sampler':<36} {'steps/call':>10} {'ms/step':>9} {'steps/s':>9}")
    for name, steps, call in cases(params):
        seconds = _median_seconds(call, args.repeats)
        print(f"{name:<36} {steps:>10} {1000 * seconds / steps:>9.3f} {steps / seconds:>9.1f}")


if __name__ == "__main__":
    main()
