r"""The diffusion schedule of a latent diffusion EBM, and its level-by-level sampler.

Levels (Gao et al., "Learning Energy-Based Models by Diffusion Recovery Likelihood", ICLR 2021,
Eq. (1); Yu et al., "Latent Diffusion Energy-Based Model for Interpretable Text Modeling", ICML
2022, Sec. 3.1). The levels are a subsequence ``levels = [i_0 < i_1 < ... < i_L]`` of a linear
beta schedule ``beta_1..beta_N`` (LDEBM: 1e-4..0.02 over N = 1000, levels
[0, 100, 200, 300, 400, 500, 999]). With :math:`\bar\alpha_i = \prod_{j \le i}(1 - \beta_j)`, the
level variables are :math:`x_t = \bar a_t z + \bar\sigma_t \epsilon` for t = 0..L, with

.. math::

    \bar a_t = \sqrt{\bar\alpha_{i_t}}, \quad \bar\sigma_t = \sqrt{1 - \bar\alpha_{i_t}}, \quad
    x_{t+1} = a_{t+1} x_t + \sigma_{t+1} \epsilon, \quad
    a_{t+1} = \sqrt{\bar\alpha_{i_{t+1}} / \bar\alpha_{i_t}}, \quad \sigma_{t+1}^2 = 1 - a_{t+1}^2.

Level 0 is z diffused by the first beta (:math:`\bar\sigma_0 = 0.01`), as in the LDEBM
authors' code (yuPeiyu98/LDEBM @ 37ebc1f modules/ldebm.py:211-224, 240-250). Index ``t`` of
``a`` / ``sigma`` / ``step`` is the pair (t, t+1); there are L pairs.

Structure (the authors' code, modules/ldebm.py:140-144, 301-308, 417-465). Pairs t = 0..L-2 are
*recoveries*: a conditional EBM on :math:`y = a_{t+1} x_t`,

.. math::

    p(y \mid x_{t+1}) \propto \exp\Big(\frac{g(y, t)}{s_t^2}
        - \frac{\lVert y - x_{t+1}\rVert^2}{2\sigma_{t+1}^2}\Big),
    \qquad x_t = y / a_{t+1}.

The last pair (t = L-1, the *top*) is no recovery: :math:`x_{L-1}` itself has the energy-tilted
Gaussian :math:`p(x_{L-1}) \propto \exp(g(x_{L-1}, L-1) / s_{L-1}^2)\,
\mathcal{N}(x_{L-1}; 0, \sigma_L^2 I)` (``a_s_prev[-1] = 1``, ``is_recovery[-1] = 0``). With
the paper's levels that is 5 recoveries and the top, sampled from :math:`x_L \sim N(0, I)` by
6 x 50 = 300 Langevin steps. Every stage samples by Langevin started at :math:`x_{t+1}` with

.. math::

    s_t^2 = (\bar\sigma_t / \bar\sigma_0)\, b\, \sigma_{t+1}^2

(b = 2e-3; modules/ldebm.py:429-430).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import torch

from latentrepro.sampling.langevin import check_step_size, langevin

#: The LDEBM schedule (papers.md P1): 7 indices of a 1000-step linear beta schedule.
PAPER_LEVELS = (0, 100, 200, 300, 400, 500, 999)

#: A level-conditioned score ``f(y [N, D], t [N]) -> [N]``.
LevelScore = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class StageScores(Protocol):
    """A :data:`LevelScore` that can bind one stage's levels up front: ``at_levels(t, dtype)``
    returns ``y -> f(y, t)`` with the work that depends on ``t`` alone done once (LDEBM's time
    embedding and temperatures), not at every Langevin step. Values are the same as ``f``'s."""

    def __call__(self, y: torch.Tensor, t: torch.Tensor) -> torch.Tensor: ...

    def at_levels(
        self, t: torch.Tensor, dtype: torch.dtype
    ) -> Callable[[torch.Tensor], torch.Tensor]: ...


def bind_levels(
    f: LevelScore | StageScores, t: torch.Tensor, dtype: torch.dtype
) -> Callable[[torch.Tensor], torch.Tensor]:
    """``y -> f(y, t)`` for a stage's fixed levels ``t``, through ``f.at_levels`` if it has one."""
    at_levels = getattr(f, "at_levels", None)
    if at_levels is not None:
        return at_levels(t, dtype)
    return lambda y: f(y, t)


@dataclass(frozen=True)
class DiffusionSchedule:
    """Per-level constants (float64)."""

    marginal_scale: torch.Tensor  # [L + 1]: a-bar_t
    sigma_bar: torch.Tensor  # [L + 1]: sigma-bar_t
    a: torch.Tensor  # [L]: a_{t+1}
    sigma: torch.Tensor  # [L]: sigma_{t+1}
    step: torch.Tensor  # [L]: Langevin step s_t of stage t

    @property
    def pairs(self) -> int:
        """L, the number of (t, t+1) pairs: the recoveries and the top."""
        return self.a.numel()

    @property
    def top(self) -> int:
        """Index of the top pair (L - 1); the recoveries are 0..top-1."""
        return self.pairs - 1

    @property
    def scale(self) -> torch.Tensor:
        """``[L]``: y = scale_t x_t, i.e. a_{t+1} for recoveries and 1 at the top."""
        return torch.cat([self.a[:-1], torch.ones(1, dtype=self.a.dtype)])

    @property
    def is_recovery(self) -> torch.Tensor:
        """``[L]``: 1 for recoveries, 0 for the top."""
        return torch.cat(
            [torch.ones(self.top, dtype=self.a.dtype), torch.zeros(1, dtype=self.a.dtype)]
        )

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
        shorter than 3 (one recovery and the top) or outside ``[0, num_steps)``; betas not in
        (0, 1) or decreasing; ``diffusion.step_scale`` <= 0.
        """
        levels = list(levels)
        if len(levels) < 3:
            raise ValueError(
                f"diffusion.levels: need at least 3 indices (one recovery and the top), got {levels}"
            )
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
        return cls(alpha_bar.sqrt(), sigma_bar, a, sigma, step)


def level_energy(
    f: LevelScore | StageScores,
    schedule: DiffusionSchedule,
    t: torch.Tensor,
    x_next: torch.Tensor,
) -> Callable[[torch.Tensor], torch.Tensor]:
    """The energy ``-log p`` (up to a constant) of stage ``t`` (``[N]``, one per chain) given
    ``x_next`` = x_{t+1}: the recovery's Gaussian is centred at x_{t+1}, the top's at 0."""
    two_var = 2 * schedule.sigma.to(x_next)[t].pow(2).unsqueeze(-1)
    centre = x_next * schedule.is_recovery.to(x_next)[t].unsqueeze(-1)
    score = bind_levels(f, t, x_next.dtype)

    def energy(y: torch.Tensor) -> torch.Tensor:
        return -score(y) + ((y - centre).pow(2) / two_var).sum(-1)

    return energy


def sample_stage(
    f: LevelScore | StageScores,
    schedule: DiffusionSchedule,
    t: torch.Tensor,
    x_next: torch.Tensor,
    steps: int,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Langevin samples of stage ``t`` started at ``x_next``, each chain with its own step
    s_t; returns y (``x_t = y / scale_t``)."""
    step = schedule.step.to(x_next)[t].unsqueeze(-1)
    energy = level_energy(f, schedule, t, x_next)
    return langevin(energy, x_next, steps, step, generator=generator)


def sample_levels(
    f: LevelScore | StageScores,
    schedule: DiffusionSchedule,
    x_start: torch.Tensor,
    steps: int,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """From ``x_start`` = x_L (N(0, I) draws) down to x_0: the top stage, then every recovery,
    ``steps`` Langevin steps each (``schedule.pairs * steps`` energy gradients; Gao et al.
    2021, Algorithm 2)."""
    x, scales = x_start, schedule.scale.tolist()  # host floats: the schedule lives on the CPU
    for t in reversed(range(schedule.pairs)):
        level = torch.full((x.size(0),), t, dtype=torch.long, device=x.device)
        x = sample_stage(f, schedule, level, x, steps, generator) / scales[t]
    return x
