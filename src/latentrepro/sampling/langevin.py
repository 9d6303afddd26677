r"""Unadjusted Langevin dynamics, vectorised over chains.

For an energy :math:`E(z)` (target density :math:`\propto e^{-E(z)}`) each step is

.. math::

    z_{k+1} = z_k - \frac{s^2}{2} \nabla_z E(z_k) + \nu\, s\, \epsilon_k,
    \qquad \epsilon_k \sim \mathcal{N}(0, I)

with step size ``s`` and noise scale ``nu`` (1 for proper Langevin; 0 gives gradient descent).
This is the prior sampler of Pang et al., "Learning Latent Space Energy-Based Prior Model",
NeurIPS 2020, Eq. (7), where :math:`E(z) = -f(z) + \lVert z \rVert^2 / 2`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from latentrepro.progress import track

Energy = Callable[[torch.Tensor], torch.Tensor]


class NonFiniteSampleError(ValueError):
    """A Langevin chain produced NaN or infinite values; raised instead of using them."""


def check_step_size(step_size: float, name: str = "langevin.step_size") -> float:
    """Return ``step_size`` if it is a positive finite number, else raise naming ``name``."""
    if not (isinstance(step_size, int | float) and 0 < step_size < float("inf")):
        raise ValueError(f"{name}: the Langevin step size must be > 0, got {step_size!r}")
    return float(step_size)


def langevin(
    energy: Energy,
    z: torch.Tensor,
    steps: int,
    step_size: float | torch.Tensor,
    noise: float = 1.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Run ``steps`` Langevin steps from ``z`` ``[N, D]`` on ``energy`` (``[N, D] -> [N]``).

    Every row is an independent chain; ``energy`` must return one value per row, so the gradient
    of its sum is the per-chain gradient. ``step_size`` is a float or a ``[N, 1]`` tensor (one
    step per chain). The result is detached. Parameters of ``energy`` receive no gradient.
    Finiteness is checked after every step but read back once, after the last: a chain that
    diverges runs to the end before the error (which names the first non-finite step).

    Raises:
        ValueError: ``steps < 0`` or a non-positive float ``step_size``.
        NonFiniteSampleError: a chain became NaN or infinite (reports the step).
    """
    if steps < 0:
        raise ValueError(f"langevin.steps: must be >= 0, got {steps}")
    if not isinstance(step_size, torch.Tensor):
        check_step_size(step_size)
    elif not bool((step_size > 0).all()):
        raise ValueError("langevin.step_size: every per-chain step size must be > 0")
    z = z.detach()
    drift, spread = 0.5 * step_size**2, noise * step_size  # the same products as per step
    finite = []  # one flag per step, left on z's device: no host sync inside the loop
    for _ in track(range(steps), f"Langevin ({len(z)} chains)", unit="steps"):
        z.requires_grad_(True)
        with torch.enable_grad():
            (grad,) = torch.autograd.grad(energy(z).sum(), z)
        eps = torch.randn(z.shape, generator=generator, device=z.device, dtype=z.dtype)
        z = (z - drift * grad + spread * eps).detach()
        finite.append(torch.isfinite(z).all())
    bad = first_false(finite)
    if bad is not None:
        raise NonFiniteSampleError(
            f"Langevin sampling became non-finite at step {bad + 1} of {steps} "
            f"(step size {_describe(step_size)}); lower langevin.step_size or the learning "
            "rate of the energy network"
        )
    return z


def first_false(flags: list[torch.Tensor]) -> int | None:
    """The index of the first False among per-step boolean scalars, or None: one host read for
    the whole chain instead of one per step (each read waits for the device)."""
    if not flags:
        return None
    ok = torch.stack(flags)
    if bool(ok.all()):
        return None
    return int(ok.logical_not().nonzero()[0, 0])


def _describe(step_size: float | torch.Tensor) -> str:
    if isinstance(step_size, torch.Tensor):
        return f"{step_size.min().item():.3g}..{step_size.max().item():.3g}"
    return f"{step_size:.3g}"
