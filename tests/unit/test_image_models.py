"""Image EBMs: network shapes and spectral norm, the CD loss, EMA, CLEL's contrastive loss,
training through the shared trainer, conditional prototypes, FID evaluation, bad input."""

import copy
import math

import pytest
import torch

from latentrepro.data.images import ImageSplit
from latentrepro.metrics.features import ClassifierFeatures
from latentrepro.models.image import CLEL, ImageClassifier, ImageEBM
from latentrepro.models.image.clel import nt_xent
from latentrepro.models.image.conditional import guided_samples, prototypes
from latentrepro.models.image.networks import EnergyNet
from latentrepro.train import fit

SHAPE = (1, 8, 8)
ARCH = {
    "energy": {"widths": [4, 8], "blocks": 1, "hidden": 8, "out_dim": 6, "downsamplings": 1},
}
GUIDED_ARCH = {
    "energy": {**ARCH["energy"], "projection_dim": 5},
    "encoder": {"widths": [4, 8], "blocks": 1, "hidden": 8, "latent_dim": 5, "downsamplings": 1},
}
MODEL = {
    "energy_penalty": 1.0,
    "ema": 0.9,
    "sgld": {"steps": 2, "step_size": 1.0, "noise_std": 0.01},
    "replay_buffer": {"size": 64, "reinit_prob": 0.05},
    "optimizer": {"name": "adam", "lr": 1e-3, "betas": [0.0, 0.999]},
}
GUIDED = {**MODEL, "beta": 0.01, "temperature": 0.2, "augment": {"flip_p": 0.0}}


def toy_split(n=48, seed=0):
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 3
    x = torch.rand(n, *SHAPE, generator=g) * 0.2
    for k in range(3):  # a bright horizontal bar whose row gives the class
        x[labels == k, :, 2 * k + 1] = 1.0
    return ImageSplit(x, {"digit": labels})


def train_config(guided):
    model = {"name": "m", "arch": "image_ebm", **(GUIDED if guided else MODEL)}
    if guided:
        model["optimizers"] = {"encoder": {"name": "sgd", "lr": 0.01, "momentum": 0.9}}
    return {
        "dataset": {"name": "toy"},
        "model": model,
        "arch": GUIDED_ARCH if guided else ARCH,
        "train": {"epochs": 2, "batch_size": 16, "max_batches_per_epoch": 2},
        "device": "cpu",
    }


@pytest.mark.parametrize(("shape", "downs"), [((1, 8, 8), 1), ((3, 32, 32), 3)])
def test_energy_net_handles_small_and_cifar_sized_images(shape, downs):
    net = EnergyNet(shape[0], {**ARCH["energy"], "widths": [4, 4, 8], "downsamplings": downs})
    assert net(torch.rand(2, *shape)).shape == (2, 6)


def test_energy_net_names_a_bad_downsampling_count():
    with pytest.raises(ValueError, match=r"energy\.downsamplings"):
        EnergyNet(1, {**ARCH["energy"], "downsamplings": 3})


def test_spectral_norm_bounds_every_convolution():
    torch.manual_seed(0)
    net = EnergyNet(1, ARCH["energy"])
    for _ in range(30):  # power iterations run in training mode
        net(torch.rand(2, *SHAPE))
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    for conv in convs:
        sigma = torch.linalg.matrix_norm(conv.weight.detach().flatten(1), ord=2)
        assert sigma.item() == pytest.approx(1.0, abs=0.02)


def test_cd_loss_is_energy_difference_plus_penalty():
    torch.manual_seed(0)
    model = ImageEBM(SHAPE, ARCH, MODEL)
    batch = {"x": toy_split().x[:16]}
    loss, logs = model.training_step(batch, 0.0)
    assert logs["cd"] == pytest.approx(logs["e_pos"] - logs["e_neg"], abs=1e-6)
    penalty = loss.item() - logs["cd"]  # alpha * mean(E+^2 + E-^2) >= E-terms squared
    assert penalty >= logs["e_pos"] ** 2 + logs["e_neg"] ** 2 - 1e-6


def test_ema_update_is_the_exponential_average():
    model = ImageEBM(SHAPE, ARCH, MODEL)
    before = [p.clone() for p in model.ema_net.parameters()]
    with torch.no_grad():
        for p in model.net.parameters():
            p.add_(1.0)
    model.after_step()
    for old, new, online in zip(
        before, model.ema_net.parameters(), model.net.parameters(), strict=True
    ):
        assert torch.allclose(new, 0.9 * old + 0.1 * online)


def test_nt_xent_by_hand():
    z = torch.tensor([[1.0, 0.0]])
    # one pair, no other view: the partner is the only candidate -> loss 0
    assert nt_xent(z, z, 0.2, None).item() == pytest.approx(0.0, abs=1e-6)
    # an orthogonal extra negative: -log(e^{1/T} / (e^{1/T} + e^0))
    loss = nt_xent(z, z, 0.2, torch.tensor([[0.0, 3.0]])).item()
    assert loss == pytest.approx(math.log(1 + math.exp(-1 / 0.2)), rel=1e-5)


@pytest.mark.parametrize("guided", [False, True])
def test_models_train_through_the_shared_trainer(tmp_path, guided):
    torch.manual_seed(0)
    cfg = train_config(guided)
    model = (CLEL if guided else ImageEBM)(SHAPE, cfg["arch"], cfg["model"])
    buffer_before = model.buffer.images.clone()
    weights, state = fit(model, toy_split(), toy_split(16, 1), cfg, 0, tmp_path / "r.pt", False)
    assert state.step == 4
    assert not torch.equal(model.buffer.images, buffer_before)
    # keep_last_weights: the returned weights are the final ones, EMA and buffer included
    for key, value in model.state_dict().items():
        assert torch.equal(weights[key], value), key
    assert not torch.equal(weights["ema_net.head.2.bias"], weights["net.head.2.bias"])
    if guided:
        assert {"train_simclr", "train_cosine"} <= set(state.history[-1])


def test_clel_needs_a_matching_projection():
    arch = copy.deepcopy(GUIDED_ARCH)
    arch["encoder"]["latent_dim"] = 7
    with pytest.raises(ValueError, match=r"encoder\.latent_dim must equal energy\.projection_dim"):
        CLEL(SHAPE, arch, GUIDED)


def test_prototypes_are_unit_group_means():
    latents = torch.tensor([[2.0, 0.0], [0.0, 1.0], [0.0, 5.0]])
    members = torch.tensor([[True, True, False], [False, False, True]])
    expected = torch.tensor([[1.0, 1.0], [0.0, 1.0]]) / torch.tensor([[2**0.5], [1.0]])
    assert torch.allclose(prototypes(latents, members), expected)
    with pytest.raises(ValueError, match="no member images"):
        prototypes(latents, torch.zeros(1, 3, dtype=torch.bool))


def test_guided_samples_have_one_row_per_class_in_the_unit_box():
    torch.manual_seed(0)
    model = CLEL(SHAPE, GUIDED_ARCH, GUIDED)
    out = guided_samples(model, toy_split(), "digit", {"steps": 2, "weight": 1.0, "per_row": 4})
    for name in ("conditional", "compositional"):
        assert out[name].shape == (3, 4, *SHAPE)
        assert out[name].min() >= 0 and out[name].max() <= 1
    assert not torch.equal(out["conditional"][0], out["conditional"][1])


def test_images_outside_the_unit_interval_are_refused():
    with pytest.raises(ValueError, match=r"x: images must lie in \[0, 1\], found values in \[-0.5"):
        ImageSplit(torch.full((2, 1, 8, 8), -0.5))
    classifier = ImageClassifier(SHAPE, 3, "digit", {"widths": [4], "feature_dim": 6})
    extractor = ClassifierFeatures(classifier.net, "toy")
    with pytest.raises(ValueError, match=r"images: images must lie in \[0, 1\]"):
        extractor(torch.full((2, 1, 8, 8), 2.0))
    assert extractor(torch.rand(2, *SHAPE)).shape == (2, 6)


def test_image_split_batches_are_full_when_shuffled():
    split = toy_split(50)
    shuffled = list(split.batches(16, torch.Generator().manual_seed(0)))
    assert [b["x"].shape[0] for b in shuffled] == [16, 16, 16]
    assert split.num_batches(16) == 3
    assert sum(b["x"].shape[0] for b in split.batches(16)) == 50


@pytest.fixture
def untrained_extractor(monkeypatch):
    import latentrepro.models.image.evaluation as evaluation

    torch.manual_seed(1)
    classifier = ImageClassifier(SHAPE, 3, "digit", {"widths": [4], "feature_dim": 6})
    extractor = ClassifierFeatures(classifier.net, "toy")
    monkeypatch.setattr(evaluation, "load_extractor", lambda spec, device: extractor)
    return evaluation


def test_fid_evaluation_names_its_protocol_and_repeats_exactly(untrained_extractor):
    torch.manual_seed(0)
    model = ImageEBM(SHAPE, ARCH, MODEL)
    settings = {"fid": {"samples": 40, "batch_size": 16, "sgld_steps": 1}, "extractor": {}}
    first, kept = untrained_extractor.evaluate_image_ebm(
        model, toy_split(), settings, 0, torch.device("cpu")
    )
    again, _ = untrained_extractor.evaluate_image_ebm(
        model, toy_split(), settings, 0, torch.device("cpu")
    )
    assert first["fid"] == again["fid"] and math.isfinite(first["fid"])  # no piled-up stats
    assert first["generated_samples"] == 40 and first["reference_samples"] == 48
    assert first["fid_extractor"].startswith("own classifier, 6-d")
    assert kept["samples"].shape == (40, *SHAPE)


def test_fid_on_no_more_samples_than_feature_dimensions_is_refused(untrained_extractor):
    model = ImageEBM(SHAPE, ARCH, MODEL)
    settings = {"fid": {"samples": 6, "batch_size": 16, "sgld_steps": 1}, "extractor": {}}
    with pytest.raises(ValueError, match=r"evaluate.fid.samples \(6\) must exceed the feature"):
        untrained_extractor.evaluate_image_ebm(model, toy_split(), settings, 0, torch.device("cpu"))
