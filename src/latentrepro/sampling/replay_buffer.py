"""Replay buffer of SGLD chains for persistent short-run sampling (Du & Mordatch 2019; CLEL).

Each training step draws a batch of distinct past samples; with probability ``reinit_prob`` a
draw is replaced by fresh uniform noise on [0, 1] (0.001 in CLEL; hankook/CLEL@ccccf50
``models/sampler.py`` ~51-62). The model then augments and moves them by SGLD and writes them
back at the drawn positions. The buffer is a registered tensor, so it travels with the model's
``state_dict`` (and hence with the trainer's resumable checkpoint).
"""

from __future__ import annotations

import torch
from torch import nn


class ReplayBuffer(nn.Module):
    """``size`` images of shape ``shape``, initialised uniformly on [0, 1]."""

    def __init__(self, size: int, shape: tuple[int, ...], reinit_prob: float) -> None:
        super().__init__()
        if size < 1:
            raise ValueError(f"replay_buffer.size: must be positive, got {size}")
        if not 0.0 <= reinit_prob <= 1.0:
            raise ValueError(f"replay_buffer.reinit_prob: must lie in [0, 1], got {reinit_prob}")
        self.reinit_prob = reinit_prob
        self.register_buffer("images", torch.rand(size, *shape))

    def __len__(self) -> int:
        return self.images.size(0)

    def sample(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` distinct stored images (some reinitialised to noise) and their positions."""
        if n > len(self):
            raise ValueError(
                f"replay_buffer.size ({len(self)}) is smaller than the batch ({n}): "
                "a batch must draw distinct buffer entries"
            )
        index = torch.randperm(len(self), device=self.images.device)[:n]
        return self.draw(index), index

    def draw(self, index: torch.Tensor) -> torch.Tensor:
        """The stored images at ``index``, each reinitialised to noise with ``reinit_prob``."""
        x = self.images[index]
        fresh = torch.rand(x.size(0), device=x.device) < self.reinit_prob
        return torch.where(fresh.view(-1, *[1] * (x.dim() - 1)), torch.rand_like(x), x)

    def push(self, x: torch.Tensor, index: torch.Tensor) -> None:
        """Store ``x`` at ``index`` (the positions :meth:`sample` returned)."""
        self.images[index] = x.detach().to(self.images)
