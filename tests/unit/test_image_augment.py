"""Tensor augmentations: shapes and [0, 1] range kept, identities where the parameters say so."""

import pytest
import torch

from latentrepro.models.image.augment import (
    StrongAugment,
    _rotate_hue,
    grayscale,
    horizontal_flip,
    random_resized_crop,
)


@pytest.mark.parametrize("channels", [1, 3])
def test_strong_augmentation_keeps_shape_and_range(channels):
    torch.manual_seed(0)
    x = torch.rand(32, channels, 8, 8)
    out = StrongAugment()(x)
    assert out.shape == x.shape
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert not torch.allclose(out, x)


def test_full_crop_is_the_identity():
    x = torch.rand(4, 3, 8, 8)
    out = random_resized_crop(x, scale=(1.0, 1.0), ratio=(1.0, 1.0))
    assert torch.allclose(out, x, atol=1e-5)


def test_flip_with_probability_one_mirrors_the_width():
    x = torch.arange(8.0).view(1, 1, 2, 4) / 8
    assert torch.equal(horizontal_flip(x, p=1.0), x.flip(-1))
    assert torch.equal(horizontal_flip(x, p=0.0), x)


def test_grayscale_uses_luma_weights_and_a_zero_hue_shift_changes_nothing():
    x = torch.rand(5, 3, 4, 4)
    gray = grayscale(x)
    expected = 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]
    assert torch.allclose(gray[:, 0], expected) and torch.allclose(gray[:, 2], expected)
    assert torch.allclose(_rotate_hue(x, torch.zeros(5)), x, atol=1e-5)
