r"""The latent diffusion EBM prior of LDEBM (Yu et al., "Latent Diffusion Energy-Based Model for
Interpretable Text Modeling", ICML 2022), as the authors' code builds it (yuPeiyu98/LDEBM @
37ebc1f, ``modules/ldebm.py``).

Structure (:mod:`latentrepro.sampling.diffusion`): the levels x_0..x_L of a forward diffusion of
z; recoveries :math:`p(y_t \mid x_{t+1})` for t = 0..L-2 on :math:`y_t = a_{t+1} x_t`, and at
the top an energy-tilted :math:`\mathcal{N}(0, \sigma_L^2 I)` on x_{L-1}. Every stage's score is
:math:`f(y, t) = g(y, t) / s_t^2` with :math:`g(y, t) = \operatorname{logsumexp}_k g_k(y, t)` of
one time-conditioned network (:class:`~latentrepro.models.priors.energy.DiffusionEnergyNet`) and
:math:`s_t` the stage's Langevin step (diffusion recovery likelihood's parametrisation, Gao et
al. 2021, Sec. 3.3; modules/ldebm.py:301-308). A noiseless step from y = x_{t+1} therefore moves
y by :math:`\nabla g / 2` at every level. The symbol posterior is
:math:`p(y \mid z) = \operatorname{softmax} g(z, 0)`.

Training (modules/ldebm.py:477-589). Per example a recovery level t ~ U{0..L-2}, and always the
top pair; :math:`w_t = \sigma_1 / \sigma_{t+1}` (``loss_scale``) and :math:`w_{top} = \sigma_1
/ \sigma_L` (``T_1_scale``):

- EBM (contrastive; negatives by Langevin from x_{t+1}, resp. from x_L, with the network frozen):
  :math:`\operatorname{mean}_i w_{t_i}[g(y^-_i, t_i) - g(y_i, t_i)]
  + \operatorname{mean}_i w_{top}[g(x^-_{top,i}, L-1) - g(x_{L-1,i}, L-1)]`
  (``loss + loss_T``, no factor for the number of levels).
- Encoder (through the reparameterised z, the network frozen): :math:`-w_t g(y_t, t)
  - w_{top} g(x_{L-1}, L-1) + w_{top} \lVert x_{L-1} \rVert^2 / 2`, plus the negative entropy
  :math:`-(1 + \log\sigma_d^2)/2` of the dimensions where it exceeds ``kl_threshold`` (the
  authors' ``dim_target_kl``; unsup_attr_discovery.py:783-786).

:meth:`kl_surrogate` returns one per-example term whose gradients are exactly these two (the
data scores carry the EBM's positive phase and the encoder's pull, the negative scores only the
EBM's negative phase); ``benchmarks/ldebm_parity.py`` checks them against the authors' code.

``log_prob`` estimates :math:`\log p(z)` (z = x_0) by importance sampling over one forward path
:math:`x_{1:L-1} \sim q(\cdot \mid x_0)`:

.. math::

    \log \hat p(z) = \log \hat p(x_{L-1}) + \sum_{t<L-1} \big[f(y_t, t) - \log \hat Z_t(x_{t+1})
        + D \log a_{t+1}\big], \quad \hat Z_t(x) = \frac1M \sum_m e^{f(x + \sigma_{t+1}\epsilon_m, t)},

with :math:`\log \hat p(x_{L-1}) = f(x_{L-1}, L-1) + \log \mathcal{N}(x_{L-1}; 0, \sigma_L^2 I)
- \log \hat Z_{top}` over M reference draws. With :math:`f = g / s_t^2` sharply peaked inside
the Gaussian reference, the M-draw normalisers have enormous variance and are biased low:
``reports_likelihood`` is False and evaluation reports no NLL, PPL or KL for LDEBM
(``benchmarks/ldebm_level_sharpness.py`` measures the spread). The authors' code bounds
log p(z) with the scores at temperature one (``g`` instead of ``g / s_t^2``,
modules/ldebm.py:301-409), a density other than the one it samples; that is not repeated.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from latentrepro.density import logmeanexp
from latentrepro.models.priors.ebm import EBMPrior, check_symbols
from latentrepro.models.priors.energy import DiffusionEnergyNet
from latentrepro.sampling import DiffusionSchedule, sample_levels
from latentrepro.sampling.diffusion import PAPER_LEVELS, sample_stage
from latentrepro.scalars import host_floats


@dataclass
class RecoveryTerms:
    """One training draw's weighted scores, per example ``[N]`` (see the module docstring)."""

    level: torch.Tensor  # t_i of each example's recovery
    data_level: torch.Tensor  # w_t g(y_t, t)
    negative_level: torch.Tensor  # w_t g(y^-, t)
    data_top: torch.Tensor  # w_top g(x_{L-1}, L-1)
    negative_top: torch.Tensor  # w_top g(x^-_top, L-1)
    top_norm: torch.Tensor  # w_top ||x_{L-1}||^2 / 2

    @property
    def data(self) -> torch.Tensor:
        """The encoder's pull, negated: w_t g(y_t) + w_top g(x_{L-1}) - w_top ||x_{L-1}||^2 / 2."""
        return self.data_level + self.data_top - self.top_norm

    @property
    def negative(self) -> torch.Tensor:
        """The batch mean of the weighted negative scores (a scalar)."""
        return (self.negative_level + self.negative_top).mean()


@dataclass(frozen=True)
class _StageScores:
    """A prior's ``f`` with its ``at_levels`` (:class:`~latentrepro.sampling.diffusion.StageScores`),
    what the samplers are given."""

    prior: DiffusionEBMPrior

    def __call__(self, y: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.prior.f(y, t)

    def at_levels(
        self, t: torch.Tensor, dtype: torch.dtype
    ) -> Callable[[torch.Tensor], torch.Tensor]:
        return self.prior.at_levels(t, dtype)


class DiffusionEBMPrior(EBMPrior):
    """The LDEBM prior.

    Args:
        latent_dim: D.
        net: time-conditioned network ``(y [N, D], t [N]) -> [N, K]`` over ``schedule.pairs``
            levels.
        schedule: the diffusion schedule (L pairs: L - 1 recoveries and the top).
        symbols: K.
        steps: Langevin steps per stage (the top and every recovery).
        log_partition_samples: M for each normaliser estimate in ``log_prob``.
        kl_threshold: if set, the encoder's negative entropy counts a dimension only where
            ``-(1 + log sigma^2) / 2`` exceeds this many nats (the authors' ``dim_target_kl``).
    """

    reports_likelihood = False

    def __init__(
        self,
        latent_dim: int,
        net: torch.nn.Module,
        schedule: DiffusionSchedule,
        symbols: int,
        steps: int,
        log_partition_samples: int = 64,
        kl_threshold: float | None = None,
    ) -> None:
        super().__init__()
        self.latent_dim, self.net, self.schedule = latent_dim, net, schedule
        self.symbols = check_symbols(symbols)
        if steps < 1:
            raise ValueError(f"prior.langevin.steps: LDEBM needs >= 1 step per level, got {steps}")
        self.steps = steps
        self.log_partition_samples = log_partition_samples
        self.kl_threshold = kl_threshold
        # float64 buffers (converted to the latents' dtype where used), so that a float64 model
        # has the schedule's exact constants.
        constants = {
            "scale": schedule.scale,
            "sigma": schedule.sigma,
            "temperature": schedule.step.pow(2),
            "level_weight": schedule.sigma[0] / schedule.sigma,
            "marginal_scale": schedule.marginal_scale,
            "sigma_bar": schedule.sigma_bar,
        }
        for name, value in constants.items():
            self.register_buffer(name, value.to(torch.float64), persistent=False)
        # The same constants as host floats where a scalar multiplies a tensor, so that no
        # training step or level loop reads a device buffer back (a sync on a GPU).
        self._floats = {name: value.tolist() for name, value in constants.items()}

    @classmethod
    def from_config(cls, cfg: dict[str, Any], latent_dim: int) -> DiffusionEBMPrior:
        """From a ``prior`` section: ``symbols``, ``energy``, ``langevin.steps`` (per stage),
        ``diffusion`` (levels, beta_start, beta_end, num_steps, step_scale),
        ``log_partition_samples``, ``kl_threshold``, and ``context_dim`` (set by a conditional
        family, not in params.yaml)."""
        lang = cfg.get("langevin", {})
        if "step_size" in lang or "noise" in lang:
            raise ValueError(
                "prior.langevin: LDEBM's Langevin steps follow the diffusion schedule "
                "(diffusion.step_scale); step_size and noise do not apply to prior ldebm"
            )
        diff = cfg.get("diffusion", {})
        schedule = DiffusionSchedule.linear(
            levels=diff.get("levels", PAPER_LEVELS),
            beta_start=diff.get("beta_start", 1e-4),
            beta_end=diff.get("beta_end", 0.02),
            num_steps=diff.get("num_steps", 1000),
            step_scale=diff.get("step_scale", 2e-3),
        )
        symbols = check_symbols(cfg.get("symbols"))
        net = DiffusionEnergyNet.from_config(
            cfg.get("energy", {}), latent_dim, symbols, schedule.pairs, cfg.get("context_dim", 0)
        )
        return cls(
            latent_dim,
            net,
            schedule,
            symbols,
            steps=lang.get("steps", 50),
            log_partition_samples=cfg.get("log_partition_samples", 64),
            kl_threshold=cfg.get("kl_threshold"),
        )

    @property
    def estimator(self) -> str:
        return (
            "log p(z) by importance sampling over one forward diffusion path per z; every level's "
            f"normaliser log Z_t(x) = logmeanexp of f over M = {self.log_partition_samples} draws "
            "of its Gaussian reference"
        )

    def _level(self, t: int | torch.Tensor, n: int) -> torch.Tensor:
        if isinstance(t, torch.Tensor):
            return t
        return torch.full((n,), t, dtype=torch.long, device=self.scale.device)

    def logits(self, y: torch.Tensor, t: int | torch.Tensor) -> torch.Tensor:
        """g_k(y, t) ``[N, K]`` for ``y`` ``[N, D]`` and a level ``t`` (int or ``[N]``)."""
        return self.conditioned(self.net, y, self._level(t, y.size(0)))

    def g(self, y: torch.Tensor, t: int | torch.Tensor) -> torch.Tensor:
        """The unscaled level-t score ``logsumexp_k g_k(y, t)``, ``[N]`` (at level 0 the
        requested symbol's logit inside :meth:`given_symbols`)."""
        level = self._level(t, y.size(0))
        return self.symbol_score(self.logits(y, level), level == 0)

    def f(self, y: torch.Tensor, t: int | torch.Tensor) -> torch.Tensor:
        """The level-t score of the stage's density, g(y, t) / s_t^2, ``[N]``."""
        return self.g(y, t) / self.temperature.to(y.dtype)[self._level(t, y.size(0))]

    @property
    def stage_scores(self) -> _StageScores:
        """``f`` for the samplers, binding each stage's levels once (:meth:`at_levels`)."""
        return _StageScores(self)

    def at_levels(
        self, t: torch.Tensor, dtype: torch.dtype
    ) -> Callable[[torch.Tensor], torch.Tensor]:
        """``y -> f(y, t)`` for the fixed levels ``t`` of a Langevin stage, with the time
        embedding and the temperatures computed once (no gradient reaches them in Langevin).
        A network without :meth:`~DiffusionEnergyNet.time_features` is called as ``f``."""
        if not isinstance(self.net, DiffusionEnergyNet):
            return lambda y: self.f(y, t)
        with torch.no_grad():
            time_features = self.net.time_features(t, dtype)
            temperature = self.temperature.to(dtype)[t]

        net = functools.partial(self.conditioned, self.net)

        first = t == 0

        def score(y: torch.Tensor) -> torch.Tensor:
            return self.symbol_score(net(y, t, time_features), first) / temperature

        return score

    def symbol_logits(self, z: torch.Tensor) -> torch.Tensor:
        """g(z, 0): p(y | z) for evaluation (the authors score z itself at level 0)."""
        return self.logits(z, 0)

    def symbol_input(self, z: torch.Tensor) -> torch.Tensor:
        """The level-0 input y_0 = a_1 x_0 of a posterior sample, x_0 = a-bar_0 z + sigma-bar_0
        eps, on which training computes I(y; z) and the cluster cross-entropy
        (unsup_attr_discovery.py:792-803)."""
        c = self._floats
        x0 = c["marginal_scale"][0] * z + c["sigma_bar"][0] * torch.randn_like(z)
        return c["scale"][0] * x0

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """x_L ~ N(0, I), then the top and every recovery: ``pairs * steps`` Langevin steps."""
        dtype = next(self.net.parameters()).dtype
        x = torch.randn(
            n, self.latent_dim, generator=generator, device=self.scale.device, dtype=dtype
        )
        return sample_levels(self.stage_scores, self.schedule, x, self.steps, generator)

    def recovery_terms(self, z: torch.Tensor) -> RecoveryTerms:
        """One training draw for the latents ``z`` ``[N, D]`` (modules/ldebm.py:477-589), with
        the random draws in the authors' order: the levels, x_{t+1}'s noise, x_t's, the top
        pair's two, then the Langevin noise of the recoveries and of the top."""
        n, top = z.size(0), self.schedule.top
        t = torch.randint(0, top, (n,), device=z.device)
        x_t, x_next = self._pair(z, t)
        top_level = torch.full((n,), top, dtype=torch.long, device=z.device)
        x_top, x_above = self._pair(z, top_level)
        y = self.scale.to(z.dtype)[t].unsqueeze(-1) * x_t
        y_neg = sample_stage(self.stage_scores, self.schedule, t, x_next.detach(), self.steps)
        top_neg = sample_stage(
            self.stage_scores, self.schedule, top_level, x_above.detach(), self.steps
        )
        w, w_top = self.level_weight.to(z.dtype)[t], self._floats["level_weight"][top]
        return RecoveryTerms(
            level=t,
            data_level=w * self.g(y, t),
            negative_level=w * self.g(y_neg, t),
            data_top=w_top * self.g(x_top, top_level),
            negative_top=w_top * self.g(top_neg, top_level),
            top_norm=w_top * 0.5 * x_top.pow(2).sum(-1),
        )

    def _pair(self, z: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(x_t, x_{t+1}) ~ q(. | z), reparameterised; x_{t+1}'s noise is drawn first."""
        eps_next = torch.randn_like(z)
        mean, std = self.marginal_scale.to(z.dtype)[t], self.sigma_bar.to(z.dtype)[t]
        x_t = mean.unsqueeze(-1) * z + std.unsqueeze(-1) * torch.randn_like(z)
        a, sigma = self.schedule.a.to(z)[t], self.sigma.to(z.dtype)[t]
        return x_t, a.unsqueeze(-1) * x_t + sigma.unsqueeze(-1) * eps_next

    @staticmethod
    def _logs(terms: RecoveryTerms) -> dict[str, float]:
        # Logged under the names the other EBM priors use, for one set of training curves.
        return host_floats(
            {
                "f_pos": terms.data_level.mean(),
                "f_neg": terms.negative_level.mean(),
                "f_top_pos": terms.data_top.mean(),
                "f_top_neg": terms.negative_top.mean(),
            }
        )

    def density_loss(self, z: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """-data + negative: its gradient in the network's parameters is the authors'
        ``loss + loss_T``."""
        terms = self.recovery_terms(z)
        return -terms.data + terms.negative, self._logs(terms)

    def kl_surrogate(
        self, mu: torch.Tensor, logvar: torch.Tensor, z: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        r"""Masked negative entropy - data + negative per example: the EBM's contrastive
        gradient and the encoder's weighted pull (module docstring).

        With ``kl_threshold`` c, dimension d's term :math:`-(1 + \log\sigma_d^2)/2` counts only
        where it exceeds c, i.e. :math:`\sigma_d < e^{-(c + 1/2)}` (c = 1: std 0.22). The
        entropy then keeps a posterior from collapsing to a point without pushing it wider."""
        terms = self.recovery_terms(z)
        neg_entropy = -0.5 * (1 + logvar)
        if self.kl_threshold is not None:
            neg_entropy = neg_entropy * (neg_entropy > self.kl_threshold)
        return neg_entropy.sum(-1) - terms.data + terms.negative, self._logs(terms)

    @torch.no_grad()
    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        shape = z.shape[:-1]
        x = z.reshape(-1, self.latent_dim)
        m, top = self.log_partition_samples, self.schedule.top
        total = torch.zeros(x.size(0), dtype=x.dtype, device=x.device)
        for t in range(top):
            a, sigma = self._floats["scale"][t], self._floats["sigma"][t]
            y = a * x
            x = y + sigma * torch.randn_like(y)
            draws = x.unsqueeze(0) + sigma * torch.randn(
                m, *x.shape, dtype=x.dtype, device=x.device
            )
            log_z = logmeanexp(self.f(draws.reshape(-1, self.latent_dim), t).view(m, -1), 0)
            total += self.f(y, t) - log_z + self.latent_dim * math.log(a)
        sigma_top = self._floats["sigma"][top]
        ref = sigma_top * torch.randn(m, self.latent_dim, dtype=x.dtype, device=x.device)
        log_z_top = logmeanexp(self.f(ref, top), 0)
        log_gauss = -0.5 * (
            self.latent_dim * math.log(2 * math.pi) + 2 * self.latent_dim * math.log(sigma_top)
            + x.pow(2).sum(-1) / sigma_top**2
        )  # fmt: skip
        total += self.f(x, top) + log_gauss - log_z_top
        return total.view(shape)
