"""The GPU options of the training loop, checked on CPU: bf16 autocast changes a training step
by no more than bfloat16's rounding allows, channels-last storage changes nothing but the
layout, and neither is on unless asked for."""

import copy

import pytest
import torch

from latentrepro.models.image import CLEL, ImageClassifier, ImageEBM
from latentrepro.models.text import TextVAE
from latentrepro.train import autocast, fit

from .test_image_models import GUIDED, GUIDED_ARCH, SHAPE, toy_split
from .test_image_models import train_config as image_config
from .test_train import config as text_config
from .test_train import split as text_split

CPU = torch.device("cpu")
#: bfloat16 keeps 8 significant bits (relative rounding 2^-8 ~ 0.4 %); a step's loss sums many
#: rounded products, so 3 % bounds it with room, and gradients keep their direction.
LOSS_RTOL, GRAD_COSINE = 3e-2, 0.98


def _cpu_runs_bf16_lstms() -> bool:
    """Whether this CPU's oneDNN builds a bf16 LSTM (some CPUs without native bf16 refuse)."""
    try:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            torch.nn.LSTM(4, 4, batch_first=True)(torch.zeros(1, 2, 4))
    except RuntimeError:
        return False
    return True


needs_bf16_lstm = pytest.mark.skipif(
    not _cpu_runs_bf16_lstms(), reason="this CPU's oneDNN builds no bf16 LSTM primitive"
)


def step(model, batch, precision, seed=0):
    """Loss and flattened gradient of one training step from a copy of ``model``."""
    model = copy.deepcopy(model).train()
    torch.manual_seed(seed)
    with autocast(CPU, precision):
        loss, _ = model.training_step(batch, 0.5)
    loss.backward()
    grads = [p.grad.flatten() for p in model.parameters() if p.grad is not None]
    return loss.detach().float(), torch.cat(grads).float()


def close_in_bf16(model, batch):
    loss32, grad32 = step(model, batch, "float32")
    loss16, grad16 = step(model, batch, "bf16")
    assert loss16.dtype == torch.float32  # autocast keeps losses in float32
    assert not torch.equal(loss16, loss32), "bf16 autocast changed nothing: is it on?"
    assert loss16 == pytest.approx(loss32.item(), rel=LOSS_RTOL)
    assert torch.nn.functional.cosine_similarity(grad16, grad32, dim=0) > GRAD_COSINE


@needs_bf16_lstm
def test_a_text_vae_step_in_bf16_is_the_float32_step_within_rounding():
    torch.manual_seed(0)
    cfg = text_config()
    model = TextVAE.from_config(cfg, 20)
    model.eval()  # no dropout: the two steps see the same network
    batch = text_split(16, 1).batch(torch.arange(16))
    close_in_bf16(model, batch)


def test_an_image_classifier_step_in_bf16_is_the_float32_step_within_rounding():
    torch.manual_seed(0)
    arch = {"widths": [4, 8], "blocks": 1, "feature_dim": 8, "downsamplings": 1}
    model = ImageClassifier(SHAPE, 3, "digit", arch)
    close_in_bf16(model, toy_split(16).batch(torch.arange(16)))


def test_the_energy_of_clel_in_bf16_is_the_float32_energy_within_rounding():
    torch.manual_seed(0)
    model = CLEL(SHAPE, GUIDED_ARCH, GUIDED).eval()
    x = toy_split(16).x
    with torch.no_grad():
        e32 = model.norm_energy(model.net(x))
        with autocast(CPU, "bf16"):
            e16 = model.norm_energy(model.net(x)).float()
    assert not torch.equal(e16, e32)
    assert torch.allclose(e16, e32, rtol=LOSS_RTOL, atol=1e-3)


def test_channels_last_changes_the_layout_and_not_the_training(tmp_path):
    split = toy_split()
    runs = {}
    for layout in (False, True):
        cfg = image_config(guided=False)
        cfg["train"] = {**cfg["train"], "channels_last": layout}
        torch.manual_seed(0)
        model = ImageEBM(SHAPE, cfg["arch"], cfg["model"])
        weights, state = fit(model, split, split, cfg, 0, tmp_path / f"r{layout}.pt", False)
        # (a 1-channel kernel is both layouts at once)
        conv = next(p for p in model.parameters() if p.dim() == 4 and p.shape[1] > 1)
        assert conv.is_contiguous(memory_format=torch.channels_last) == layout
        runs[layout] = (weights, state.history)
    for key, value in runs[False][0].items():
        assert torch.allclose(value.float(), runs[True][0][key].float(), atol=1e-5), key


def test_an_unknown_precision_is_named():
    with pytest.raises(ValueError, match=r"train\.precision: unknown 'fp8'"):
        autocast(CPU, "fp8")


@needs_bf16_lstm
def test_the_training_loop_runs_its_steps_in_the_precision_asked_for(tmp_path):
    losses = {}
    for precision in ("float32", "bf16"):
        cfg = text_config(epochs=1)
        cfg["train"] = {**cfg["train"], "precision": precision}
        torch.manual_seed(0)
        model = TextVAE.from_config(cfg, 20)
        _, state = fit(
            model, text_split(32, 0), text_split(16, 1), cfg, 0, tmp_path / precision, False
        )
        losses[precision] = state.history[0]["train_loss"]
    assert losses["bf16"] != losses["float32"]
    assert losses["bf16"] == pytest.approx(losses["float32"], rel=LOSS_RTOL)
