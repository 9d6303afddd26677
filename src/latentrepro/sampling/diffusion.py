r"""The diffusion schedule of a latent diffusion EBM, and its level-by-level sampler.

Forward process (Gao et al., "Learning Energy-Based Models by Diffusion Recovery Likelihood",
ICLR 2021, Eq. (1); Yu et al., "Latent Diffusion Energy-Based Model for Interpretable Text
Modeling", ICML 2022, Sec. 3.1), for levels :math:`t = 0..T-1`:

.. math::

    x_{t+1} = a_{t+1} x_t + \sigma_{t+1} \epsilon, \qquad a_{t+1} = \sqrt{1 - \sigma_{t+1}^2}.

The levels are a subsequence ``levels = [i_0 < i_1 < ... < i_T]`` of a linear beta schedule
``beta_1..beta_N`` (LDEBM: 1e-4..0.02 over N = 1000, levels [0, 100, ..., 500, 999]); with
:math:`\bar\alpha_i = \prod_{j \le i}(1 - \beta_j)`,

.. math::

    \bar\sigma_t = \sqrt{1 - \bar\alpha_{i_t}}, \qquad
    a_{t+1} = \sqrt{\bar\alpha_{i_{t+1}} / \bar\alpha_{i_t}}, \qquad
    \sigma_{t+1}^2 = 1 - a_{t+1}^2.

Recovery (level t given level t+1) is a conditional EBM on :math:`y = a_{t+1} x_t`:

.. math::

    p(y \mid x_{t+1}) \propto \exp\Big(f(y, t) - \frac{\lVert y - x_{t+1}\rVert^2}{2\sigma_{t+1}^2}\Big),

sampled by Langevin with :math:`s_t^2 = (\bar\sigma_t / \bar\sigma_0)\, b\, \sigma_{t+1}^2`
(the LDEBM authors' step rule with b = 2e-3, papers.md P1).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from latentrepro.sampling.langevin import check_step_size, langevin

#: The LDEBM schedule (papers.md P1): 6 levels of a 1000-step linear beta schedule.
PAPER_LEVELS = (0, 100, 200, 300, 400, 500, 999)


@dataclass(frozen=True)
class DiffusionSchedule:
    """Per-level constants; index ``t`` of ``a`` / ``sigma`` / ``step`` is the pair (t, t+1)."""

    sigma_bar: torch.Tensor  # [T + 1]
    a: torch.Tensor  # [T]: a_{t+1}
    sigma: torch.Tensor  # [T]: sigma_{t+1}
    step: torch.Tensor  # [T]: Langevin step s_t of the recovery of level t

    @property
    def levels(self) -> int:
        """T, the number of recovery levels."""
        return self.a.numel()

    @classmethod
    def linear(
        cls,
        levels: Sequence[int] = PAPER_LEVELS,
        beta_start: float = 1e-4,
        beta_end: float = 0.02,
        num_steps: int = 1000,
        step_scale: float = 2e-3,
    ) -> DiffusionSchedule:
        """The schedule of ``levels`` of a linear beta schedule (see the module docstring).

        Raises ValueError naming the parameter: ``diffusion.levels`` not strictly increasing,
        shorter than 2 or outside ``[0, num_steps)``; betas not in (0, 1) or decreasing;
        ``diffusion.step_scale`` <= 0.
        """
        levels = list(levels)
        if len(levels) < 2:
            raise ValueError(f"diffusion.levels: need at least 2 indices, got {levels}")
        if any(b <= a for a, b in itertools.pairwise(levels)):
            raise ValueError(f"diffusion.levels: must be strictly increasing, got {levels}")
        if levels[0] < 0 or levels[-1] >= num_steps:
            raise ValueError(
                f"diffusion.levels: indices must lie in [0, {num_steps}), got {levels}"
            )
        if not 0 < beta_start <= beta_end < 1:
            raise ValueError(
                "diffusion.beta_start/beta_end: need 0 < beta_start <= beta_end < 1, got "
                f"{beta_start}, {beta_end}"
            )
        check_step_size(step_scale, "diffusion.step_scale")
        betas = torch.linspace(beta_start, beta_end, num_steps, dtype=torch.float64)
        alpha_bar = torch.cumprod(1 - betas, dim=0)[levels]
        sigma_bar = (1 - alpha_bar).sqrt()
        a = (alpha_bar[1:] / alpha_bar[:-1]).sqrt()
        sigma = (1 - a**2).sqrt()
        step = (sigma_bar[:-1] / sigma_bar[0] * step_scale * sigma**2).sqrt()
        return cls(*(v.float() for v in (sigma_bar, a, sigma, step)))

    def diffuse(
        self, x0: torch.Tensor, generator: torch.Generator | None = None
    ) -> list[torch.Tensor]:
        """A forward path ``[x_0, x_1, ..., x_T]`` from ``x0`` (reparameterised)."""
        path = [x0]
        for t in range(self.levels):
            eps = torch.randn(x0.shape, generator=generator, device=x0.device, dtype=x0.dtype)
            path.append(self.a[t].item() * path[-1] + self.sigma[t].item() * eps)
        return path


ConditionalEnergy = Callable[[torch.Tensor, int], torch.Tensor]


def recovery_energy(
    f: ConditionalEnergy, schedule: DiffusionSchedule, t: int, x_next: torch.Tensor
):
    """The energy ``-log p(y | x_{t+1})`` (up to a constant) of the level-t recovery, ``[N]``."""
    var = schedule.sigma[t].item() ** 2

    def energy(y: torch.Tensor) -> torch.Tensor:
        return -f(y, t) + (y - x_next).pow(2).sum(-1) / (2 * var)

    return energy


def recover(
    f: ConditionalEnergy,
    schedule: DiffusionSchedule,
    t: int,
    x_next: torch.Tensor,
    steps: int,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Langevin samples of ``y ~ p(y | x_{t+1})`` started at ``x_{t+1}``; returns ``y`` (not x_t)."""
    energy = recovery_energy(f, schedule, t, x_next)
    return langevin(energy, x_next, steps, schedule.step[t].item(), generator=generator)


def sample_levels(
    f: ConditionalEnergy,
    schedule: DiffusionSchedule,
    x_top: torch.Tensor,
    steps: int,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """From a top-level sample ``x_T`` down to ``x_0``: for t = T-1 .. 0, sample
    ``y ~ p(y | x_{t+1})`` by ``steps`` Langevin steps and set ``x_t = y / a_{t+1}``
    (Gao et al. 2021, Algorithm 2). Costs ``T * steps`` energy gradients."""
    x = x_top
    for t in reversed(range(schedule.levels)):
        x = recover(f, schedule, t, x, steps, generator) / schedule.a[t].item()
    return x
