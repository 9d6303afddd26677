"""The interface every prior p(z) implements."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator

import torch
from torch import nn


class Prior(nn.Module):
    """A prior over R^D.

    ``log_prob`` must be a normalised log density (an EBM prior adds its estimated
    log-partition term and records the estimator), because importance-weighted NLL uses it.

    What a prior can do is said by its capabilities, which the regularisers and evaluations
    read instead of checking its type:

    - ``standard_normal``: p(z) is N(0, I), so the per-dimension KL and the hole measures
      (KL(p || q-bar), CU), which draw from N(0, I), apply; :meth:`analytic_kl` says whether a
      closed-form KL exists;
    - ``reports_likelihood``: ``log_prob`` is trustworthy enough to report NLL, PPL and KL from;
    - ``global_partition``: ``log_prob`` carries one estimated log-partition term, which an
      evaluation freezes (:meth:`frozen_partition`) so that every example shares one estimate.

    A conditional prior p(z | c) reads the condition bound by :meth:`given`: one row of c per
    latent of the calls inside the block (a training batch, its Langevin chains, its samples).
    """

    latent_dim: int
    #: p(z) is the standard normal N(0, I).
    standard_normal: bool = False
    #: Whether ``log_prob`` is trustworthy enough to report likelihoods (NLL, PPL, KL) from.
    reports_likelihood: bool = True
    #: Whether ``log_prob`` holds one global log-partition estimate (see :meth:`frozen_partition`).
    global_partition: bool = False
    #: The condition c ``[N, C]`` bound by :meth:`given`; None outside such a block.
    context: torch.Tensor | None = None

    @contextlib.contextmanager
    def given(self, context: torch.Tensor) -> Iterator[Prior]:
        """Bind the condition ``context`` ``[N, C]`` (detached: the prior never trains what
        computes it) for the calls inside the block. A prior that does not depend on c (N(0, I)
        of a conditional VAE whose posterior and decoder read c) ignores it; an energy network
        checks that it was built for it and that it has one row per latent."""
        previous, self.context = self.context, context.detach()
        try:
            yield self
        finally:
            self.context = previous

    def conditioned(self, net: nn.Module, *inputs: torch.Tensor) -> torch.Tensor:
        """``net(*inputs)``, given the bound condition as ``context=`` inside :meth:`given`."""
        if self.context is None:
            return net(*inputs)
        return net(*inputs, context=self.context)

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log p(z), summed over the last dimension."""
        raise NotImplementedError

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` samples, shape [n, D]."""
        raise NotImplementedError

    def analytic_kl(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor | None:
        """KL(N(mu, diag exp(logvar)) || p) per example, or ``None`` where no closed form exists."""
        return None

    def frozen_partition(
        self, generator: torch.Generator | None = None
    ) -> contextlib.AbstractContextManager[float | None]:
        """A block inside which ``log_prob`` uses one log-partition estimate, yielding it;
        ``None`` and no change for a prior without a global normaliser."""
        return contextlib.nullcontext(None)

    @property
    def device(self) -> torch.device:
        """Where the prior's tensors live (CPU for a prior without any)."""
        tensor = next(itertools.chain(self.buffers(), self.parameters()), None)
        return torch.device("cpu") if tensor is None else tensor.device
