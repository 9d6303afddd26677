"""Baseline image EBM: short-run SGLD from a replay buffer and contrastive divergence.

The energy is E(x) = 0.5 ||f(x)||^2 with f the spectral-normalised ResNet of
:mod:`~latentrepro.models.image.networks` (CLEL's sampling energy, so the baseline and CLEL
differ only by the latent guidance). The loss (Du & Mordatch 2019, as used by CLEL; Lee et al.
ICLR 2023, hankook/CLEL@ccccf50 ``models/ebm.py`` ~96-104) is

    mean(E(x+) - E(x-)) + alpha * mean(E(x+)^2 + E(x-)^2)

with x+ a training batch dequantised as x * 255/256 + U(0, 1/256) (``datasets.py`` ~15-21) and
x- drawn from the replay buffer, strongly augmented (``replay_buffer.augment``; sampler.py ~71)
and moved by SGLD under the *online* energy network in training mode, so spectral norm runs its
power iteration at every SGLD step as in the authors' code. The positive and negative batches go
through the network separately, as there.

An exponential moving average (EMA) of the energy network is kept for evaluation samples only
(the authors' ``use_ema=true`` at test time): for the first ``ema.start`` steps it copies the
online weights, afterwards ``ema <- decay * ema + (1 - decay) * online`` (train.py ~39-40,
decay 0.5^(64/20000), start 20000/64), buffers (spectral-norm vectors) copied.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import torch
from torch import nn

from latentrepro.data.images import check_unit_range
from latentrepro.models.image.augment import StrongAugment
from latentrepro.models.image.networks import EnergyNet
from latentrepro.progress import track
from latentrepro.sampling.replay_buffer import ReplayBuffer
from latentrepro.sampling.sgld import SGLDConfig, sgld
from latentrepro.scalars import host_floats

Batch = dict[str, torch.Tensor]


def sgld_config(cfg: dict[str, Any], steps: int | None = None) -> SGLDConfig:
    """An :class:`SGLDConfig` from a ``sgld`` section (optionally with another step count)."""
    return SGLDConfig(
        steps=cfg["steps"] if steps is None else steps,
        step_size=cfg["step_size"],
        noise_std=cfg["noise_std"],
        grad_clip=cfg.get("grad_clip"),
    )


def strong_augment(settings: dict[str, Any] | None) -> StrongAugment:
    """The strong augmentation with a dataset's overrides (e.g. no flip for digits)."""
    settings = dict(settings or {})
    if "crop_scale" in settings:
        settings["crop_scale"] = tuple(settings["crop_scale"])
    return StrongAugment(**settings)


def dequantize(x: torch.Tensor) -> torch.Tensor:
    """x * 255/256 + U(0, 1/256): uniform noise inside each 8-bit level (stays in [0, 1))."""
    return x * (255 / 256) + torch.rand_like(x) / 256


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
        ema = model.get("ema") or {"decay": 0.0, "start": 0}
        self.ema_decay, self.ema_start = float(ema["decay"]), int(ema["start"])
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"ema.decay: must lie in [0, 1), got {self.ema_decay}")
        self.ema_net = copy.deepcopy(self.net).requires_grad_(False).eval()
        self.register_buffer("steps_done", torch.zeros((), dtype=torch.long))
        self.alpha = float(model["energy_penalty"])
        self.sgld = sgld_config(model["sgld"])
        buffer = model["replay_buffer"]
        self.buffer = ReplayBuffer(buffer["size"], shape, buffer["reinit_prob"])
        self.augment = strong_augment(model.get("augment"))
        self.augment_buffer = bool(buffer.get("augment", False))
        self.dequantize = bool(model.get("dequantize", False))

    def train(self, mode: bool = True) -> ImageEBM:
        super().train(mode)
        self.ema_net.eval()  # the EMA copy never runs spectral-norm power iterations itself
        return self

    @property
    def sampler_net(self) -> EnergyNet:
        """The network of evaluation samples: the EMA copy when an EMA is kept."""
        return self.ema_net if self.ema_decay > 0 else self.net

    @staticmethod
    def norm_energy(f: torch.Tensor) -> torch.Tensor:
        """E = 0.5 ||f||^2 per sample."""
        return 0.5 * f.square().sum(dim=1)

    def energy(self, x: torch.Tensor) -> torch.Tensor:
        """Energy of the online network (training negatives)."""
        return self.norm_energy(self.net(x))

    def sampling_energy(self, x: torch.Tensor) -> torch.Tensor:
        """Energy of the evaluation network (:attr:`sampler_net`)."""
        return self.norm_energy(self.sampler_net(x))

    def optimizer_groups(self) -> dict[str, list[nn.Parameter]]:
        return {"model": list(self.net.parameters())}

    def chain_step(
        self, x: torch.Tensor, energy: Any, config: SGLDConfig | None = None
    ) -> torch.Tensor:
        """One round of the sampler on drawn buffer images: augmentation (when enabled), then
        SGLD on ``energy``."""
        if self.augment_buffer:
            x = self.augment(x)
        return sgld(energy, x, config or self.sgld)

    def negatives(self, n: int) -> torch.Tensor:
        """``n`` samples continued from the replay buffer under the online network, written
        back to it."""
        if n > len(self.buffer):
            raise ValueError(
                f"replay_buffer.size ({len(self.buffer)}) is smaller than the batch ({n})"
            )
        x, index = self.buffer.sample(n)
        x = self.chain_step(x, self.energy)
        self.buffer.push(x, index)
        return x

    def training_step(self, batch: Batch, progress: float) -> tuple[torch.Tensor, dict[str, float]]:
        x_pos = dequantize(batch["x"]) if self.dequantize else batch["x"]
        x_neg = self.negatives(x_pos.size(0))
        f_pos, f_neg = self.net(x_pos), self.net(x_neg)
        e_pos, e_neg = self.norm_energy(f_pos), self.norm_energy(f_neg)
        cd = (e_pos - e_neg).mean()
        penalty = self.alpha * (e_pos.square() + e_neg.square()).mean()
        extra, logs = self.guidance_loss(x_pos, f_pos, f_neg)
        loss = cd + penalty + extra
        logs.update(
            host_floats({"loss": loss, "cd": cd, "e_pos": e_pos.mean(), "e_neg": e_neg.mean()})
        )
        return loss, logs

    def guidance_loss(
        self, x_pos: torch.Tensor, f_pos: torch.Tensor, f_neg: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Extra loss terms of subclasses (none for the baseline)."""
        return f_pos.new_zeros(()), {}

    @torch.no_grad()
    def after_step(self) -> None:
        """EMA update of the evaluation network (called by the trainer after each step)."""
        self.steps_done += 1
        if self.ema_decay == 0:
            return
        decay = 0.0 if int(self.steps_done) <= self.ema_start else self.ema_decay
        for ema, online in zip(self.ema_net.parameters(), self.net.parameters(), strict=True):
            ema.lerp_(online, 1.0 - decay)
        for ema, online in zip(self.ema_net.buffers(), self.net.buffers(), strict=True):
            ema.copy_(online)

    @torch.no_grad()
    def validation_step(self, batch: Batch) -> dict[str, float]:
        """Summed energy of validation images (a training diagnostic, not a model score)."""
        x = batch["x"]
        return {"loss": self.norm_energy(self.net(x)).sum().item(), "count": x.size(0)}

    def generate(self, n: int, steps: int, batch_size: int) -> torch.Tensor:
        """``n`` evaluation samples: distinct training-buffer chains continued for ``steps``
        SGLD steps under :attr:`sampler_net`, without writing them back (the ``replay``
        FID protocol)."""
        if n > len(self.buffer):
            raise ValueError(
                f"evaluate.fid.samples ({n}) exceeds replay_buffer.size ({len(self.buffer)})"
            )
        config = dataclasses.replace(self.sgld, steps=steps)
        index = torch.randperm(len(self.buffer), device=self.buffer.images.device)[:n]
        starts = track(range(0, n, batch_size), f"FID samples ({n})", unit="batches")
        chunks = [
            sgld(self.sampling_energy, self.buffer.images[index[i : i + batch_size]], config)
            for i in starts
        ]
        samples = torch.cat(chunks)
        check_unit_range(samples, "generated samples")
        return samples

    def generate_fresh(self, n: int, rounds: int, steps: int, batch_size: int) -> torch.Tensor:
        """``n`` samples by the authors' FID protocol (hankook/CLEL@ccccf50 ``test_fid.py``
        ~46-57): a fresh buffer of ``n`` uniform images; ``rounds`` passes over it in batches,
        each reinitialising with ``replay_buffer.reinit_prob``, augmenting and running
        ``steps`` SGLD steps under :attr:`sampler_net` in eval mode, written back."""
        buffer = ReplayBuffer(n, self.shape, self.buffer.reinit_prob).to(self.buffer.images)
        config = dataclasses.replace(self.sgld, steps=steps)
        for _ in range(rounds):
            for start in range(0, n, batch_size):
                index = torch.arange(start, min(start + batch_size, n))
                x = self.chain_step(buffer.draw(index), self.sampling_energy, config)
                buffer.push(x, index)
        check_unit_range(buffer.images, "generated samples")
        return buffer.images.clone()
