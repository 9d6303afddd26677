"""Scalars for the training logs, read back from tensors in one transfer."""

from __future__ import annotations

from collections.abc import Mapping

import torch


def host_floats(values: Mapping[str, torch.Tensor]) -> dict[str, float]:
    """``{name: float}`` for 0-d tensors of one dtype, detached and read back together: one host
    sync (on a GPU every ``.item()`` waits for the device) instead of one per value."""
    floats = torch.stack([value.detach() for value in values.values()]).tolist()
    return dict(zip(values, floats, strict=True))
