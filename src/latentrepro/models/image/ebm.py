"""Baseline image EBM: short-run SGLD from a replay buffer and contrastive divergence.

The energy is E(x) = 0.5 ||f(x)||^2 with f the spectral-normalised ResNet of
:mod:`~latentrepro.models.image.networks` (CLEL's sampling energy, so the baseline and CLEL
differ only by the latent guidance). The loss (Du & Mordatch 2019, as used by CLEL, Lee et al.
ICLR 2023; papers.md P3) is

    mean(E(x+) - E(x-)) + alpha * mean(E(x+)^2 + E(x-)^2)

with x- drawn by SGLD from the replay buffer. Negatives are sampled under an exponential moving
average (EMA) of the energy network when ``ema`` > 0 (the online network otherwise); the EMA
network is also the one used for evaluation samples.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from latentrepro.data.images import check_unit_range
from latentrepro.models.image.networks import EnergyNet
from latentrepro.progress import track
from latentrepro.sampling.replay_buffer import ReplayBuffer
from latentrepro.sampling.sgld import SGLDConfig, sgld

Batch = dict[str, torch.Tensor]


def sgld_config(cfg: dict[str, Any], steps: int | None = None) -> SGLDConfig:
    """An :class:`SGLDConfig` from a ``sgld`` section (optionally with another step count)."""
    return SGLDConfig(
        steps=cfg["steps"] if steps is None else steps,
        step_size=cfg["step_size"],
        noise_std=cfg["noise_std"],
    )


class ImageEBM(nn.Module):
    """Energy network + EMA copy + replay buffer; trains with the shared trainer."""

    #: EBM validation energies do not rank checkpoints: the trainer keeps the last weights.
    keep_last_weights = True

    def __init__(
        self, shape: tuple[int, int, int], arch: dict[str, Any], model: dict[str, Any]
    ) -> None:
        super().__init__()
        self.shape = shape
        self.net = EnergyNet(shape[0], arch["energy"])
        self.ema_decay = float(model["ema"])
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"ema: decay must lie in [0, 1), got {self.ema_decay}")
        self.ema_net = copy.deepcopy(self.net).requires_grad_(False).eval()
        self.alpha = float(model["energy_penalty"])
        self.sgld = sgld_config(model["sgld"])
        buffer = model["replay_buffer"]
        self.buffer = ReplayBuffer(buffer["size"], shape, buffer["reinit_prob"])

    def train(self, mode: bool = True) -> ImageEBM:
        super().train(mode)
        self.ema_net.eval()  # the EMA copy never runs spectral-norm power iterations itself
        return self

    @property
    def sampler_net(self) -> EnergyNet:
        return self.ema_net if self.ema_decay > 0 else self.net

    @staticmethod
    def norm_energy(f: torch.Tensor) -> torch.Tensor:
        """E = 0.5 ||f||^2 per sample."""
        return 0.5 * f.square().sum(dim=1)

    def sampling_energy(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm_energy(self.sampler_net(x))

    def optimizer_groups(self) -> dict[str, list[nn.Parameter]]:
        return {"model": list(self.net.parameters())}

    def negatives(self, n: int) -> torch.Tensor:
        """``n`` SGLD samples continued from the replay buffer, written back to it."""
        if n > len(self.buffer):
            raise ValueError(
                f"replay_buffer.size ({len(self.buffer)}) is smaller than the batch ({n})"
            )
        x, index = self.buffer.sample(n)
        x = sgld(self.sampling_energy, x, self.sgld)
        self.buffer.push(x, index)
        return x

    def training_step(self, batch: Batch, progress: float) -> tuple[torch.Tensor, dict[str, float]]:
        x_pos = batch["x"]
        x_neg = self.negatives(x_pos.size(0))
        f = self.net(torch.cat([x_pos, x_neg]))
        f_pos, f_neg = f.chunk(2)
        e_pos, e_neg = self.norm_energy(f_pos), self.norm_energy(f_neg)
        cd = (e_pos - e_neg).mean()
        penalty = self.alpha * (e_pos.square() + e_neg.square()).mean()
        extra, logs = self.guidance_loss(x_pos, x_neg, f_pos)
        loss = cd + penalty + extra
        logs.update(
            loss=loss.item(), cd=cd.item(), e_pos=e_pos.mean().item(), e_neg=e_neg.mean().item()
        )
        return loss, logs

    def guidance_loss(
        self, x_pos: torch.Tensor, x_neg: torch.Tensor, f_pos: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Extra loss terms of subclasses (none for the baseline)."""
        return f_pos.new_zeros(()), {}

    @torch.no_grad()
    def after_step(self) -> None:
        """EMA update of the sampling network (called by the trainer after each step)."""
        if self.ema_decay == 0:
            return
        for ema, online in zip(self.ema_net.parameters(), self.net.parameters(), strict=True):
            ema.lerp_(online, 1.0 - self.ema_decay)
        for ema, online in zip(self.ema_net.buffers(), self.net.buffers(), strict=True):
            ema.copy_(online)

    @torch.no_grad()
    def validation_step(self, batch: Batch) -> dict[str, float]:
        """Summed energy of validation images (a training diagnostic, not a model score)."""
        x = batch["x"]
        return {"loss": self.norm_energy(self.net(x)).sum().item(), "count": x.size(0)}

    def generate(self, n: int, steps: int, batch_size: int) -> torch.Tensor:
        """``n`` evaluation samples: distinct replay-buffer chains continued for ``steps`` SGLD
        steps under the sampling (EMA) network, without writing them back."""
        if n > len(self.buffer):
            raise ValueError(
                f"evaluate.fid.samples ({n}) exceeds replay_buffer.size ({len(self.buffer)})"
            )
        config = SGLDConfig(steps, self.sgld.step_size, self.sgld.noise_std)
        index = torch.randperm(len(self.buffer), device=self.buffer.images.device)[:n]
        starts = track(range(0, n, batch_size), f"FID samples ({n})", unit="batches")
        chunks = [
            sgld(self.sampling_energy, self.buffer.images[index[i : i + batch_size]], config)
            for i in starts
        ]
        samples = torch.cat(chunks)
        check_unit_range(samples, "generated samples")
        return samples
