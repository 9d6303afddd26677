"""Short-run stochastic gradient Langevin dynamics (SGLD) on images in [0, 1].

One step, as in CLEL's code (hankook/CLEL@ccccf50 ``models/sampler.py`` ``sgld`` ~11-22) and
IGEBM (Du & Mordatch 2019):
``x <- clamp_[0,1](x - step_size * clip(grad_x E(x)) + noise_std * N(0, I))``. The step size and
the noise are decoupled (100 and 0.001 in the paper), as is usual for short-run EBM samplers.
``grad_clip`` clamps every gradient entry to [-grad_clip, grad_clip]; the authors' sampler passes
its step size there (``step_clip=self.step_size``, sampler.py ~77), so the paper profile sets
``grad_clip`` = ``step_size``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from latentrepro.progress import track
from latentrepro.sampling.langevin import first_false

EnergyFn = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class SGLDConfig:
    """Number of steps, gradient step size, noise standard deviation, gradient clip, box."""

    steps: int
    step_size: float
    noise_std: float
    grad_clip: float | None = None
    low: float | None = 0.0
    high: float | None = 1.0

    def __post_init__(self) -> None:
        if self.steps < 0:
            raise ValueError(f"sgld.steps: must be >= 0, got {self.steps}")
        if self.step_size <= 0:
            raise ValueError(f"sgld.step_size: must be positive, got {self.step_size}")
        if self.noise_std < 0:
            raise ValueError(f"sgld.noise_std: must be >= 0, got {self.noise_std}")
        if self.grad_clip is not None and self.grad_clip <= 0:
            raise ValueError(f"sgld.grad_clip: must be positive or null, got {self.grad_clip}")


def sgld(energy: EnergyFn, x: torch.Tensor, config: SGLDConfig) -> torch.Tensor:
    """Run ``config.steps`` SGLD steps from ``x`` on the summed per-sample ``energy``.

    Returns a detached tensor. The energy network's parameters receive no gradient, and the
    caller's grad mode (e.g. ``torch.no_grad`` during evaluation) does not matter. The noise is
    drawn with ``torch.randn_like`` once per step, after the gradient, as in the authors' code,
    so equal seeds give equal chains. The gradient's finiteness is read back once, after the
    last step (a diverging chain runs to the end before the error names the first bad step).
    """
    x = x.detach().clone()
    finite = []  # one flag per step, read back once after the loop (no host sync per step)
    with torch.enable_grad():
        for _ in track(range(config.steps), f"SGLD ({len(x)} chains)", unit="steps"):
            x.requires_grad_(True)
            (grad,) = torch.autograd.grad(energy(x).sum(), x)
            finite.append(torch.isfinite(grad).all())
            if config.grad_clip is not None:
                grad = grad.clamp(-config.grad_clip, config.grad_clip)
            x = x.detach() - config.step_size * grad
            if config.noise_std > 0:
                x = x + config.noise_std * torch.randn_like(x)
            if config.low is not None or config.high is not None:
                x = x.clamp(config.low, config.high)
    bad = first_false(finite)
    if bad is not None:
        raise FloatingPointError(
            f"SGLD: the energy gradient became NaN or infinite at step {bad + 1} of {config.steps}"
        )
    return x.detach()
