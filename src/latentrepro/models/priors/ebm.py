r"""Latent-space EBM priors tilting N(0, I): LEBM (a scalar score) and SVEBM (symbol-vector
coupling with K symbols).

.. math::

    p_\alpha(z) = \frac{1}{Z(\alpha)} \exp(f_\alpha(z))\, \mathcal{N}(z; 0, I),
    \qquad Z(\alpha) = \mathbb{E}_{\mathcal{N}(0, I)}[\exp f_\alpha(z)]

(Pang et al., "Learning Latent Space Energy-Based Prior Model", NeurIPS 2020, Eq. (1)). SVEBM
couples a discrete symbol y with z through K logits, :math:`p(y, z) \propto \exp(\langle y,
f_\alpha(z)\rangle) \mathcal{N}(z; 0, I)`, so the marginal score is
:math:`f(z) = \operatorname{logsumexp}_y f_\alpha(z)_y` and
:math:`p(y \mid z) = \operatorname{softmax}(f_\alpha(z))` (Pang & Wu, "Latent Space Energy-Based
Model of Symbol-Vector Coupling for Text Generation and Classification", ICML 2021, Eqs. (1)-(3)).

``log_prob`` is normalised with :math:`\log \hat Z = \operatorname{logmeanexp}_{m=1}^{M}
f(z_m)`, :math:`z_m \sim \mathcal{N}(0, I)` (importance sampling with the reference as proposal;
consistent as M grows, biased low for finite M by Jensen's inequality).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch

from latentrepro.density import gaussian_kl, log_standard_normal, logmeanexp
from latentrepro.models.priors.base import Prior
from latentrepro.models.priors.energy import EnergyMLP
from latentrepro.sampling import check_step_size, langevin
from latentrepro.scalars import host_floats


def check_symbols(symbols: Any, name: str = "prior.symbols") -> int:
    """K must be an integer >= 2 (one symbol carries no information)."""
    if not isinstance(symbols, int) or isinstance(symbols, bool) or symbols < 2:
        raise ValueError(
            f"{name}: the number of symbols K must be an integer >= 2, got {symbols!r}"
        )
    return symbols


class EBMPrior(Prior):
    """What the EBM priors share: symbol logits, a training surrogate, a log-partition estimate.

    Subclasses implement :meth:`score` (the log-density up to the normaliser, as used by
    ``log_prob``), :meth:`symbol_logits`, :meth:`density_loss` (the contrastive maximum-likelihood
    surrogate for data points ``z``) and :meth:`kl_surrogate` (the prior part of the VAE loss).
    """

    symbols: int | None
    log_partition_samples: int
    #: Requested symbols ``[N]`` bound by :meth:`given_symbols`; None outside such a block.
    requested: torch.Tensor | None = None

    @contextlib.contextmanager
    def given_symbols(self, symbols: torch.Tensor) -> Iterator[EBMPrior]:
        """Sample p(z | y) for the requested symbols ``[N]`` inside the block: the score reads
        the symbol's logit g_y instead of logsumexp_k g_k (LDEBM's sentiment control, at the
        last stage only: yuPeiyu98/LDEBM @ 37ebc1f modules/ldebm_sent.py:435-448, 583-588; SVEBM
        everywhere: bpucla/ibebm sentence_attribute_control.py's ebm_prior with a label)."""
        if not self.symbols:
            raise ValueError("prior: only a symbol-coupled prior (svebm, ldebm) samples given y")
        previous, self.requested = self.requested, symbols
        try:
            yield self
        finally:
            self.requested = previous

    def symbol_score(self, logits: torch.Tensor, where: torch.Tensor | None = None) -> torch.Tensor:
        """``logsumexp_k logits`` (y marginalised), or inside :meth:`given_symbols` the
        requested symbol's logit (only on the rows where ``where`` holds, if given)."""
        marginal = logits.logsumexp(-1)
        if self.requested is None:
            return marginal
        if self.requested.shape != marginal.shape:
            raise ValueError(
                f"prior: {tuple(self.requested.shape)} requested symbols for "
                f"{tuple(marginal.shape)} latents"
            )
        chosen = logits.gather(-1, self.requested.unsqueeze(-1)).squeeze(-1)
        return chosen if where is None else torch.where(where, chosen, marginal)

    @property
    def estimator(self) -> str:
        """How ``log_prob`` is normalised, for the metrics JSON."""
        raise NotImplementedError

    def symbol_logits(self, z: torch.Tensor) -> torch.Tensor:
        """Logits of p(y | z), ``[N, K]``."""
        raise NotImplementedError

    def symbol_input(self, z: torch.Tensor) -> torch.Tensor:
        """What training feeds :meth:`symbol_logits` for a posterior sample ``z`` (the
        information bottleneck and the cluster cross-entropy): ``z`` itself unless the prior
        says otherwise (LDEBM: its level-0 input)."""
        return z

    def density_loss(self, z: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """Per-example surrogate whose gradient in the EBM's parameters is -grad log p(z)."""
        raise NotImplementedError

    def kl_surrogate(
        self, mu: torch.Tensor, logvar: torch.Tensor, z: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Per-example surrogate of KL(q(z|x) || p(z)) with the right gradients."""
        raise NotImplementedError


class LatentEBMPrior(EBMPrior):
    """LEBM (``symbols=None``: f is a scalar network) or SVEBM (``symbols=K``).

    Args:
        latent_dim: D.
        net: the energy network, ``[N, D] -> [N, 1]`` (LEBM) or ``[N, K]`` (SVEBM).
        symbols: K, or None for LEBM.
        steps / step_size / noise: prior Langevin from N(0, I) (used for negatives and sampling).
        log_partition_samples: M for the log-partition estimate.
        kl_threshold: if set, a dimension's Gaussian KL counts only where it exceeds this many
            nats (the SVEBM authors' ``dim_target_kl``; bpucla/ibebm @ 315b645
            unconditional_gen.py:813-815, text_generation.py:444-446).
        detach_positive: score the posterior sample detached in the KL surrogate, so that the
            encoder gets no -f(z) pull (the SVEBM DailyDialog script, unconditional_gen.py:816;
            its PTB script keeps the pull, text_generation.py:449).
    """

    global_partition = True

    def __init__(
        self,
        latent_dim: int,
        net: EnergyMLP,
        symbols: int | None,
        steps: int,
        step_size: float,
        noise: float = 1.0,
        log_partition_samples: int = 10_000,
        kl_threshold: float | None = None,
        detach_positive: bool = False,
    ) -> None:
        super().__init__()
        self.latent_dim, self.net, self.symbols = latent_dim, net, symbols
        self.kl_threshold, self.detach_positive = kl_threshold, detach_positive
        self.steps, self.step_size, self.noise = steps, check_step_size(step_size), noise
        self.log_partition_samples = log_partition_samples
        self._frozen_log_z: torch.Tensor | None = None
        self._cached_log_z: tuple[tuple[int, ...], torch.Tensor] | None = None
        self.register_buffer("_anchor", torch.zeros(()), persistent=False)

    @classmethod
    def from_config(cls, cfg: dict[str, Any], latent_dim: int, coupled: bool) -> LatentEBMPrior:
        """From a ``prior`` section: ``symbols`` (SVEBM), ``energy``, ``langevin``,
        ``log_partition_samples``, ``kl_threshold``, ``detach_positive``, and ``context_dim``
        (set by a conditional family, not in params.yaml)."""
        symbols = check_symbols(cfg.get("symbols")) if coupled else None
        lang = cfg.get("langevin", {})
        net = EnergyMLP.from_config(
            cfg.get("energy", {}), latent_dim, symbols or 1, cfg.get("context_dim", 0)
        )
        return cls(
            latent_dim,
            net,
            symbols,
            steps=lang.get("steps", 40),
            step_size=check_step_size(lang.get("step_size", 0.5), "prior.langevin.step_size"),
            noise=lang.get("noise", 1.0),
            log_partition_samples=cfg.get("log_partition_samples", 10_000),
            kl_threshold=cfg.get("kl_threshold"),
            detach_positive=cfg.get("detach_positive", False),
        )

    @property
    def estimator(self) -> str:
        return (
            "log Z = logmeanexp f(z_m), z_m ~ N(0, I), "
            f"M = {self.log_partition_samples} (importance sampling from the reference)"
        )

    def f(self, z: torch.Tensor) -> torch.Tensor:
        """The score f(z) ``[...]`` for ``z`` ``[..., D]``."""
        out = self.conditioned(self.net, z.reshape(-1, self.latent_dim))
        score = self.symbol_score(out) if self.symbols else out.squeeze(-1)
        return score.view(z.shape[:-1])

    def symbol_logits(self, z: torch.Tensor) -> torch.Tensor:
        if not self.symbols:
            raise ValueError("prior: LEBM has no symbols; use svebm or ldebm for symbol metrics")
        return self.conditioned(self.net, z)

    def energy(self, z: torch.Tensor) -> torch.Tensor:
        """-log of the unnormalised density: -f(z) + ||z||^2 / 2."""
        return -self.f(z) + 0.5 * z.pow(2).sum(-1)

    def sample(
        self, n: int, generator: torch.Generator | None = None, steps: int | None = None
    ) -> torch.Tensor:
        z0 = torch.randn(n, self.latent_dim, generator=generator, device=self._anchor.device)
        steps = self.steps if steps is None else steps
        return langevin(self.energy, z0, steps, self.step_size, self.noise, generator)

    @torch.no_grad()
    def log_partition(
        self, samples: int | None = None, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """The estimate of log Z (a scalar), drawn in chunks of 10,000."""
        samples = samples or self.log_partition_samples
        chunks, sizes = [], []
        for start in range(0, samples, 10_000):
            m = min(10_000, samples - start)
            z = torch.randn(m, self.latent_dim, generator=generator, device=self._anchor.device)
            chunks.append(logmeanexp(self.f(z), 0))
            sizes.append(m)
        weights = torch.tensor(sizes, dtype=torch.float32, device=self._anchor.device).log()
        return (torch.stack(chunks) + weights).logsumexp(0) - weights.exp().sum().log()

    @contextlib.contextmanager
    def frozen_partition(  # type: ignore[override]
        self, generator: torch.Generator | None = None
    ) -> Iterator[float]:
        """Estimate log Z once and use it for every ``log_prob`` inside the block."""
        self._frozen_log_z = self.log_partition(generator=generator)
        try:
            yield float(self._frozen_log_z)
        finally:
            self._frozen_log_z = None

    def current_log_partition(self) -> torch.Tensor:
        """The frozen estimate inside :meth:`frozen_partition`; otherwise one estimate per state
        of the parameters (re-estimated after every in-place update, e.g. an optimiser step),
        so that a validation pass over many batches estimates log Z once."""
        if self._frozen_log_z is not None:
            return self._frozen_log_z
        key = tuple(p._version for p in self.parameters())
        if self._cached_log_z is None or self._cached_log_z[0] != key:
            self._cached_log_z = (key, self.log_partition())
        return self._cached_log_z[1]

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        return self.f(z) + log_standard_normal(z) - self.current_log_partition()

    def density_loss(self, z: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """-f(z) + mean f(z-) with z- short-run Langevin samples from N(0, I) (Pang et al.
        2020, Eq. (6): the gradient of log Z is E_p[grad f]). The positive score is taken
        before the negatives are drawn, as in the authors' code."""
        f_pos = self.f(z)
        negatives = self.sample(z.size(0))
        f_neg = self.f(negatives)
        logs = host_floats({"f_pos": f_pos.mean(), "f_neg": f_neg.mean()})
        return -f_pos + f_neg.mean(), logs

    def kl_surrogate(
        self, mu: torch.Tensor, logvar: torch.Tensor, z: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """KL(q || N(0, I)) - f(z) + E_p f: equals KL(q || p) - log Z + E_p f, whose gradients are
        those of KL(q || p) (Pang & Wu 2021, Eq. (9)). With ``kl_threshold`` c a dimension's
        KL term counts only where it exceeds c; with ``detach_positive`` the encoder gets only
        the Gaussian KL's gradient."""
        contrast, logs = self.density_loss(z.detach() if self.detach_positive else z)
        kl = gaussian_kl(mu.unsqueeze(-1), logvar.unsqueeze(-1))  # [B, D]
        if self.kl_threshold is not None:
            kl = kl * (kl > self.kl_threshold)
        return kl.sum(-1) + contrast, logs
