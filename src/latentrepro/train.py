"""One training loop for every model: epochs, optimisers, clipping, validation, lr decay on
plateau, a resumable checkpoint every epoch, and the training history.

A model plugs in by implementing

- ``training_step(batch, progress) -> (loss, logs)`` with ``progress`` in [0, 1], and
- ``validation_step(batch) -> {"loss": sum, ..., "count": n}`` (sums over the batch).

Optionally ``optimizer_groups() -> {group: parameters}``; each group other than ``"model"``
takes its optimiser settings from ``config["model"]["optimizers"][group]`` (each may carry a
learning-rate schedule, :func:`lr_factor`);
``on_epoch_start(epoch, train_split)``, called before every epoch (also a resumed one), for
per-epoch work over the training set such as re-clustering; ``epoch_order(train_split,
generator)``, called after it, returning the indices the epoch visits in order (e.g. drawn
uniformly over clusters) or None for the usual shuffle; ``after_step()``, called after every
optimiser step (e.g. an EMA update of sampling weights); and ``keep_last_weights = True`` for
models whose validation loss does not rank checkpoints (EBMs): ``fit`` then returns the final
weights instead of the best-validation ones.

The budget is ``train.epochs`` (each of at most ``max_batches_per_epoch`` batches) or, where a
paper states one, ``train.iterations``: exactly that many optimiser steps, over as many epochs as
it takes (the last one cut short).

Precision (``train.precision``): ``float32`` (the default), or ``bf16``: the training step's
forward pass under ``torch.autocast`` in bfloat16 (matrix products and convolutions in bf16,
losses and reductions in float32, as autocast chooses); weights, gradients and optimiser states
stay float32, and validation runs in float32. ``train.channels_last`` stores the 4-D weights
of convolutional models channels-last (the fast layout of cuDNN's convolutions). Both are for
GPUs; tests/unit/test_precision.py bounds bf16's effect on a step on CPU.

Resuming: the checkpoint holds the weights, optimiser states, the best weights so far, the lr
decay state, the history and the global RNG state; shuffling uses a generator seeded per epoch.
A run killed after epoch e and resumed therefore ends with exactly the weights of an
uninterrupted run. The previous epoch's checkpoint is kept beside it (:class:`ResumeFile`), so
a resume file that cannot be read is moved aside and training goes on from the epoch before,
or from scratch.
"""

from __future__ import annotations

import copy
import csv
import io
import math
import os
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from latentrepro.config import config_hash
from latentrepro.data.batches import DEFAULT_BATCHING, TokenSplit
from latentrepro.errors import NonFiniteLossError
from latentrepro.io import CorruptFileError, load_torch, save_torch, write_text
from latentrepro.progress import interval, note, track


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device: 'cuda' was requested but torch sees no CUDA device")
    return torch.device(name)


#: ``train.precision`` -> the autocast dtype of the training step (None: no autocast).
PRECISIONS: dict[str, torch.dtype | None] = {"float32": None, "bf16": torch.bfloat16}


def autocast(device: torch.device, precision: str) -> torch.autocast:
    """The autocast context of a training step in ``precision`` (see the module docstring)."""
    if precision not in PRECISIONS:
        raise ValueError(f"train.precision: unknown {precision!r}; known: {sorted(PRECISIONS)}")
    dtype = PRECISIONS[precision]
    return torch.autocast(device.type, dtype=dtype or torch.bfloat16, enabled=dtype is not None)


def build_optimizer(params: Iterable[nn.Parameter], cfg: dict[str, Any]) -> torch.optim.Optimizer:
    """SGD or Adam from an ``optimizer`` section of params.yaml."""
    if cfg["name"] == "sgd":
        return torch.optim.SGD(
            params, lr=cfg["lr"], momentum=cfg.get("momentum", 0.0),
            weight_decay=cfg.get("weight_decay", 0.0),
        )  # fmt: skip
    if cfg["name"] == "adam":
        return torch.optim.Adam(
            params, lr=cfg["lr"], betas=tuple(cfg.get("betas", (0.9, 0.999))),
            weight_decay=cfg.get("weight_decay", 0.0),
        )  # fmt: skip
    raise ValueError(f"optimizer.name: unknown optimiser {cfg['name']!r}; known: adam, sgd")


def lr_factor(cfg: dict[str, Any], step: int, total_steps: int) -> float:
    """Learning-rate multiplier of optimiser settings ``cfg`` at (0-based) step ``step``.

    ``warmup_steps`` W: linear warm-up (step + 1) / W for the first W steps; ``anneal: cosine``:
    0.5 (1 + cos(pi step / total_steps)) down to zero at the end of the run. Both as
    torch's ``LambdaLR`` / ``CosineAnnealingLR`` stepped once per iteration give them (CLEL's
    Adam warm-up over 2,000 steps and its encoder's cosine SGD; hankook/CLEL@ccccf50
    ``utils.py`` ~54-77). They multiply when both are set.
    """
    factor = 1.0
    warmup = cfg.get("warmup_steps", 0)
    if warmup and step < warmup:
        factor *= (step + 1) / warmup
    if cfg.get("anneal") == "cosine":
        factor *= 0.5 * (1.0 + math.cos(math.pi * min(step, total_steps) / max(total_steps, 1)))
    return factor


@dataclass
class Optimisers:
    """Named optimisers with their gradient-clipping norms and learning-rate schedules."""

    optimizers: dict[str, torch.optim.Optimizer]
    clip_norms: dict[str, float | None]
    schedules: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def for_model(cls, model: nn.Module, model_cfg: dict[str, Any]) -> Optimisers:
        groups = (
            model.optimizer_groups()
            if hasattr(model, "optimizer_groups")
            else {"model": list(model.parameters())}
        )
        cfgs = {"model": model_cfg["optimizer"], **model_cfg.get("optimizers", {})}
        missing = sorted(set(groups) - set(cfgs))
        if missing:
            raise ValueError(f"model {model_cfg.get('name')!r} needs optimizers.{missing[0]}")
        optimizers = {g: build_optimizer(params, cfgs[g]) for g, params in groups.items()}
        for opt in optimizers.values():
            for group in opt.param_groups:
                group["base_lr"] = group["lr"]
        return cls(
            optimizers, {g: cfgs[g].get("clip_norm") for g in groups}, {g: cfgs[g] for g in groups}
        )

    def schedule(self, step: int, total_steps: int) -> None:
        """Set every learning rate for (0-based) step ``step`` of ``total_steps``."""
        for name, opt in self.optimizers.items():
            factor = lr_factor(self.schedules.get(name, {}), step, total_steps)
            for group in opt.param_groups:
                group["lr"] = group["base_lr"] * factor

    def step(self, loss: torch.Tensor) -> None:
        for opt in self.optimizers.values():
            opt.zero_grad(set_to_none=True)
        loss.backward()
        for name, opt in self.optimizers.items():
            clip = self.clip_norms[name]
            if clip is not None:
                params = [p for group in opt.param_groups for p in group["params"]]
                torch.nn.utils.clip_grad_norm_(params, clip)
            opt.step()

    def scale_lr(self, factor: float) -> None:
        for opt in self.optimizers.values():
            for group in opt.param_groups:
                group["lr"] *= factor
                group["base_lr"] *= factor

    @property
    def lr(self) -> float:
        return self.optimizers["model"].param_groups[0]["lr"]

    def state_dict(self) -> dict[str, Any]:
        return {name: opt.state_dict() for name, opt in self.optimizers.items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name, opt in self.optimizers.items():
            opt.load_state_dict(state[name])


@dataclass
class LoopState:
    """Everything besides weights and optimisers that a resumed run needs."""

    epoch: int = 0  # epochs completed
    step: int = 0
    best_val: float = math.inf
    best_epoch: int = -1
    bad_epochs: int = 0
    decays: int = 0
    stopped_early: bool = False
    history: list[dict[str, float]] = field(default_factory=list)


#: What a resume file must hold to be resumed from.
RESUME_FIELDS = ("fingerprint", "model", "optimizers", "best_weights", "loop", "rng")


@dataclass(frozen=True)
class ResumeFile:
    """The resumable state of one run at ``path``, and the epoch before it at ``path.prev``.

    Each save writes the new state completely (fsync'ed) before the current file becomes the
    previous one and the new one takes its place, so a kill at any moment leaves a complete
    state behind (the disk needs room for three of them while saving). :meth:`load` takes
    the newest file that reads back; one that does not is moved to ``<name>.corrupt`` with a
    warning naming it.
    """

    path: Path

    @property
    def previous(self) -> Path:
        return self.path.with_name(self.path.name + ".prev")

    def save(self, state: dict[str, Any]) -> None:
        save_torch(self.path, state, previous=self.previous)

    def load(self, device: torch.device) -> tuple[dict[str, Any], Path] | None:
        """The newest readable state and the file it came from, or None."""
        discarded = False
        for candidate in (self.path, self.previous):
            if not candidate.exists():
                continue
            try:
                saved = load_torch(candidate, map_location=device, weights_only=False)
                if not isinstance(saved, dict) or not set(RESUME_FIELDS) <= set(saved):
                    raise CorruptFileError(candidate, "not a resume file of this project")
            except CorruptFileError as error:
                aside = candidate.with_name(candidate.name + ".corrupt")
                os.replace(candidate, aside)
                note(
                    f"warning: resume file {candidate} cannot be read ({error.detail}); "
                    f"moved it to {aside}"
                )
                discarded = True
                continue
            return saved, candidate
        if discarded:
            note(f"warning: no readable state is left at {self.path}; training from scratch")
        return None

    def remove(self) -> None:
        """Delete the state once the run has finished (``.corrupt`` files are left to look at)."""
        self.path.unlink(missing_ok=True)
        self.previous.unlink(missing_ok=True)


def fit(
    model: nn.Module,
    train: TokenSplit,
    valid: TokenSplit,
    config: dict[str, Any],
    seed: int,
    resume_path: Path,
    progress_bar: bool = True,
) -> tuple[dict[str, torch.Tensor], LoopState]:
    """Train ``model`` and return the best-validation (or last) weights and the final loop state.

    ``config`` is a resolved training config (:func:`latentrepro.config.train_config`).
    The resumable checkpoint at ``resume_path`` is written after every epoch and matched to
    the config, seed and weight shapes by hash; a checkpoint of another config is ignored
    (and overwritten), one that cannot be read is moved aside (:class:`ResumeFile`).
    """
    device = resolve_device(config["device"])
    train_cfg, decay = config["train"], config["model"].get("lr_decay")
    model.to(device)
    if train_cfg.get("channels_last"):
        model.to(memory_format=torch.channels_last)
    precision = train_cfg.get("precision", "float32")
    optimisers = Optimisers.for_model(model, config["model"])
    limit = train_cfg.get("max_batches_per_epoch")
    batching = train_cfg.get("batching", DEFAULT_BATCHING)
    per_epoch = train.num_batches(train_cfg["batch_size"], limit)
    total_steps, epochs = training_budget(train_cfg, per_epoch)
    # The weights' names and shapes are part of the fingerprint: a code change that alters
    # the network makes an old resume file someone else's instead of an error at loading.
    shapes = {name: list(value.shape) for name, value in model.state_dict().items()}
    fingerprint = config_hash({"config": config, "seed": seed, "shapes": shapes})

    torch.manual_seed(seed)
    state, best_weights = LoopState(), copy.deepcopy(model.state_dict())
    resume = ResumeFile(resume_path)
    found = resume.load(device)
    if found is not None and found[0]["fingerprint"] != fingerprint:
        note(f"{found[1]} was written for another configuration; training from scratch")
    elif found is not None:
        saved, source = found
        model.load_state_dict(saved["model"])
        optimisers.load_state_dict(saved["optimizers"])
        best_weights, state = saved["best_weights"], LoopState(**saved["loop"])
        torch.set_rng_state(saved["rng"])
        if torch.cuda.is_available() and saved.get("cuda_rng") is not None:
            torch.cuda.set_rng_state_all(saved["cuda_rng"])
        note(f"resuming from {source} after epoch {state.epoch}")

    while state.epoch < epochs and not state.stopped_early:
        epoch, started = state.epoch, time.perf_counter()
        if hasattr(model, "on_epoch_start"):
            model.on_epoch_start(epoch, train)
        model.train()
        shuffle = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
        order = model.epoch_order(train, shuffle) if hasattr(model, "epoch_order") else None
        sums: dict[str, float] = {}
        counts: dict[str, int] = {}  # a key may be logged on some steps only
        batches = track(
            train.batches(train_cfg["batch_size"], shuffle, device, limit, order, batching),
            f"epoch {epoch + 1}/{epochs}", per_epoch, "batches", progress_bar,
        )  # fmt: skip
        for batch in batches:
            if state.step >= total_steps:
                break
            optimisers.schedule(state.step, total_steps)
            with autocast(device, precision):
                loss, logs = model.training_step(batch, state.step / max(total_steps, 1))
            if not torch.isfinite(loss):
                raise NonFiniteLossError(
                    f"non-finite training loss {loss.item()} at epoch {epoch + 1}, step {state.step}; "
                    "lower the learning rate or check the data"
                )
            optimisers.step(loss)
            if hasattr(model, "after_step"):
                model.after_step()
            state.step += 1
            for key, value in logs.items():
                sums[key] = sums.get(key, 0.0) + value
                counts[key] = counts.get(key, 0) + 1
        val = evaluate_loss(
            model, valid, train_cfg["batch_size"], device, train_cfg.get("max_valid_batches"),
            batching,
        )  # fmt: skip
        row = {"epoch": epoch + 1, "step": state.step, "lr": optimisers.lr}
        row.update({f"train_{k}": v / counts[k] for k, v in sums.items()})
        row.update({f"val_{k}": v for k, v in val.items()})
        row["seconds"] = time.perf_counter() - started
        state.history.append(row)
        note(
            f"epoch {epoch + 1}: train loss {row['train_loss']:.4f}  {_validation_summary(val)}  "
            f"({row['seconds']:.1f}s)",
            console=progress_bar and row["seconds"] >= interval(),
        )

        if val["loss"] < state.best_val:
            state.best_val, state.best_epoch, state.bad_epochs = val["loss"], epoch + 1, 0
            best_weights = copy.deepcopy(model.state_dict())
        elif decay is not None and epoch + 1 >= decay.get("start_epoch", 0):
            state.bad_epochs += 1
            if state.bad_epochs >= decay["patience"]:
                # He et al. (2019): decay the learning rate and restart from the best weights.
                # The best-loss tracker keeps the best *validation* loss (the authors' DG-VAE
                # code reset it to a training loss here).
                optimisers.scale_lr(decay["factor"])
                model.load_state_dict(best_weights)
                state.bad_epochs, state.decays = 0, state.decays + 1
                state.stopped_early = state.decays >= decay.get("max_decays", math.inf)
        state.epoch += 1
        resume.save(
            {
                "fingerprint": fingerprint,
                "model": model.state_dict(),
                "optimizers": optimisers.state_dict(),
                "best_weights": best_weights,
                "loop": asdict(state),
                "rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
            },
        )
    if keeps_last_weights(model):
        return copy.deepcopy(model.state_dict()), state
    return best_weights, state


def training_budget(train_cfg: dict[str, Any], per_epoch: int) -> tuple[int, int]:
    """(optimiser steps, epochs) of a ``train`` section with ``per_epoch`` batches an epoch."""
    if train_cfg.get("iterations") is not None:
        if train_cfg.get("epochs") is not None:
            raise ValueError("train: set either epochs or iterations, not both")
        steps = int(train_cfg["iterations"])
        return steps, math.ceil(steps / max(per_epoch, 1))
    return train_cfg["epochs"] * per_epoch, train_cfg["epochs"]


def keeps_last_weights(model: nn.Module) -> bool:
    """Whether :func:`fit` returns the final weights rather than the best-validation ones."""
    return getattr(model, "keep_last_weights", False)


def saved_epoch(model: nn.Module, state: LoopState) -> int:
    """The epoch whose weights :func:`fit` returned for ``model``."""
    return state.epoch if keeps_last_weights(model) else state.best_epoch


def _validation_summary(val: dict[str, float]) -> str:
    """The epoch line's validation figure: the loss, or where a prior reports no likelihood (its
    loss is NaN by design) the reconstruction term, said as such."""
    if math.isnan(val["loss"]) and "rec" in val:
        return f"val rec {val['rec']:.4f} (no ELBO: the prior reports no likelihood)"
    return f"val loss {val['loss']:.4f}"


@torch.no_grad()
def evaluate_loss(
    model: nn.Module,
    split: TokenSplit,
    batch_size: int,
    device: torch.device,
    limit: int | None = None,
    batching: str = DEFAULT_BATCHING,
) -> dict[str, float]:
    """Per-example means of the model's validation sums over a split (its first ``limit``
    batches when given, for small CPU budgets; with ``bucketed`` batching those are the
    shortest sentences' batches)."""
    model.eval()
    totals: dict[str, float] = {}
    total = -(-len(split) // batch_size)
    batches = split.batches(batch_size, device=device, limit=limit, batching=batching)
    for batch in track(batches, "validation", min(total, limit or total), "batches"):
        for key, value in model.validation_step(batch).items():
            totals[key] = totals.get(key, 0.0) + value
    count = totals.pop("count")
    return {key: value / count for key, value in totals.items()}


def write_history(path: Path, history: list[dict[str, float]]) -> None:
    """The training curve as CSV (one row per epoch), written atomically."""
    columns = list(dict.fromkeys(key for row in history for key in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(history)
    write_text(path, buffer.getvalue())
