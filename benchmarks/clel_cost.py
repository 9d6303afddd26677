"""Training cost of the baseline image EBM and CLEL: seconds per iteration and peak memory.

Each case runs in its own subprocess (so peak memory is that case's alone): it builds the model
from the ``clel`` experiment of params.yaml's cpu profile (its SGLD, buffer, EMA, optimisers and
beta; ``train_config`` and ``image_ebm_parts``) on the case's dataset, trains ``--iterations``
iterations through the models' ``training_step`` with the shared trainer's optimisers after one
warm-up iteration, and reports the mean time per iteration, the peak resident memory of the process (CPU; it includes the
~0.3 GB of the Python/torch runtime, printed as ``idle RSS``) and, on CUDA, the peak allocated
GPU memory. Cases: the digits setting of the cpu profile (1x8x8, tiny networks), the
Fashion-MNIST setting of the fashion_cpu profile (1x28x28, small networks) and the base
networks on CIFAR-10 shapes (3x32x32, random images in [0, 1]). A size names the energy and
encoder networks of an ``archs.image_ebm`` entry (the stem is the case dataset's): tiny =
``digits``, small = ``fashion_mnist``, base = ``cifar10``, large =
``models.clel_large.archs.cifar10``.

    .venv/bin/python benchmarks/clel_cost.py [--device cpu|cuda] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: size -> (dataset, model) whose network entry (:func:`latentrepro.config.arch_config`) it is
SIZES = {
    "tiny": ("digits", "clel"),
    "small": ("fashion_mnist", "clel"),
    "base": ("cifar10", "clel"),
    "large": ("cifar10", "clel_large"),
}

#: (label, dataset, size, image shape, batch, SGLD steps, iterations)
CASES = [
    ("digits, tiny", "digits", "tiny", (1, 8, 8), 64, 20, 10),
    ("Fashion-MNIST, small", "fashion_mnist", "small", (1, 28, 28), 64, 20, 5),
    ("CIFAR-10 shapes, base", "cifar10", "base", (3, 32, 32), 64, 5, 2),
]


def run_case(args: argparse.Namespace) -> dict[str, float]:
    import torch

    from latentrepro.config import arch_config, load_params, train_config
    from latentrepro.models.image import CLEL, ImageEBM
    from latentrepro.models.image.settings import image_ebm_parts
    from latentrepro.train import Optimisers

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = torch.device(args.device)
    idle_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    experiments = "profiles.cpu.experiments"
    params = load_params(
        ROOT / "params.yaml",
        {
            "profile": "cpu",
            f"{experiments}.clel.datasets": [args.dataset],
            f"{experiments}.fid_classifier.datasets": [args.dataset],  # the FID extractor
            f"{experiments}.clel.model.sgld.steps": args.steps,
        },
    )
    config = train_config(params, args.dataset, args.model)
    networks = arch_config(params, *SIZES[args.size])
    config["arch"] = {**config["arch"], **{k: networks[k] for k in ("energy", "encoder")}}
    arch, model_cfg = image_ebm_parts(config)
    shape = tuple(args.shape)
    model_cls = CLEL if model_cfg["guidance"] else ImageEBM
    model = model_cls(shape, arch, model_cfg).to(device)
    optimisers = Optimisers.for_model(model, config["model"])
    batch = {"x": torch.rand(args.batch, *shape, device=device)}
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    timings = []
    for _ in range(args.iterations + 1):
        start = time.perf_counter()
        loss, _ = model.training_step(batch, 0.0)
        optimisers.step(loss)
        model.after_step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        timings.append(time.perf_counter() - start)
    result = {
        "s_per_iteration": sum(timings[1:]) / args.iterations,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "idle_rss_mb": idle_rss,
        "parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
    }
    if device.type == "cuda":
        result["peak_cuda_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    for name in ("model", "dataset", "size"):
        parser.add_argument(f"--{name}", help=argparse.SUPPRESS)
    parser.add_argument("--shape", type=int, nargs=3, help=argparse.SUPPRESS)
    for name in ("batch", "steps", "iterations"):
        parser.add_argument(f"--{name}", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_case(args)))
        return
    header = "| case | model | batch | SGLD steps | s / iteration | peak RSS (MB) | idle RSS (MB) | params |"
    print(f"device: {args.device}, torch threads: {args.threads}\n\n{header}")
    print("|" + "---|" * (header.count("|") - 1))
    for label, dataset, size, shape, batch, steps, iterations in CASES:
        for model in ("ebm", "clel"):
            cmd = [
                sys.executable, __file__, "--one", "--device", args.device,
                "--threads", str(args.threads), "--model", model, "--dataset", dataset,
                "--size", size, "--shape", *map(str, shape), "--batch", str(batch),
                "--steps", str(steps), "--iterations", str(iterations),
            ]  # fmt: skip
            env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
            out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            extra = f" (CUDA peak {r['peak_cuda_mb']:.0f} MB)" if "peak_cuda_mb" in r else ""
            print(
                f"| {label} | {model} | {batch} | {steps} | {r['s_per_iteration']:.3f} | "
                f"{r['peak_rss_mb']:.0f}{extra} | {r['idle_rss_mb']:.0f} | {r['parameters']:,} |"
            )


if __name__ == "__main__":
    main()
