"""Image EBMs: networks as the authors build them, the CD loss, buffer augmentation, negatives
from the online network, the EMA schedule, CLEL's coupling and contrastive loss, training
through the shared trainer, conditional prototypes and scores, FID protocols, bad input."""

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
    "ema": {"decay": 0.9, "start": 0},
    "sgld": {"steps": 2, "step_size": 1.0, "noise_std": 0.01},
    "replay_buffer": {"size": 64, "reinit_prob": 0.05, "augment": True},
    "optimizer": {"name": "adam", "lr": 1e-3, "betas": [0.0, 0.999]},
    "augment": {"flip_p": 0.0},
    "dequantize": True,
}
GUIDED = {**MODEL, "beta": 0.01, "temperature": 0.2}


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
    net = EnergyNet(shape[0], {**ARCH["energy"], "widths": [4, 4, 8, 8], "downsamplings": downs})
    assert net(torch.rand(2, *shape)).shape == (2, 6)


def test_energy_net_names_a_bad_downsampling_count():
    with pytest.raises(ValueError, match=r"energy\.downsamplings"):
        EnergyNet(1, {**ARCH["energy"], "downsamplings": 2})


def _conv(c_in, c_out, k, bias=True):
    return c_in * c_out * k * k + (c_out if bias else 0)


def test_the_base_energy_net_has_the_authors_layout_and_parameter_count():
    # architectures.py get_ebm('resnet'): stem 3->128, stages (128,2),(128,2),(256,2),(256,2)
    # with a bias-free 1x1 shortcut where widths change, head 256->2048->128 (bias),
    # projection 128->2048->128 (no bias): counted layer by layer here.
    blocks = [(128, 128)] * 4 + [(128, 256), (256, 256), (256, 256), (256, 256)]
    expected = _conv(3, 128, 3)
    for c_in, c_out in blocks:
        expected += _conv(c_in, c_out, 3) + _conv(c_out, c_out, 3)
        expected += _conv(c_in, c_out, 1, bias=False) if c_in != c_out else 0
    expected += 256 * 2048 + 2048 + 2048 * 128 + 128 + 128 * 2048 + 2048 * 128
    cfg = {"widths": [128, 128, 256, 256], "blocks": 2, "hidden": 2048, "out_dim": 128}
    net = EnergyNet(3, {**cfg, "downsamplings": 3, "projection_dim": 128})
    assert sum(p.numel() for p in net.parameters()) == expected == 6_955_648
    pools = [m for m in net.modules() if isinstance(m, torch.nn.AvgPool2d)]
    assert len(pools) == 3 and net(torch.rand(2, 3, 32, 32)).shape == (2, 128)


def test_spectral_norm_is_on_every_convolution_and_no_linear_layer():
    torch.manual_seed(0)
    net = EnergyNet(1, {**GUIDED_ARCH["energy"], "widths": [4, 8]})
    for _ in range(30):  # power iterations run in training mode
        net(torch.rand(2, *SHAPE))
    for module in net.modules():
        if isinstance(module, torch.nn.Conv2d):
            assert hasattr(module, "parametrizations")
            sigma = torch.linalg.matrix_norm(module.weight.detach().flatten(1), ord=2)
            assert sigma.item() == pytest.approx(1.0, abs=0.02)
        elif isinstance(module, torch.nn.Linear):
            assert not hasattr(module, "parametrizations")
    assert all(m.bias is None for m in net.projection if isinstance(m, torch.nn.Linear))


def test_linear_layers_start_at_the_authors_small_normal():
    torch.manual_seed(0)
    net = EnergyNet(1, {**GUIDED_ARCH["energy"], "hidden": 400, "out_dim": 300})
    weight = net.head[0].weight
    assert weight.std().item() == pytest.approx(0.01, rel=0.05)
    assert torch.all(net.head[0].bias == 0)


def test_the_normalize_stem_standardises_each_channel():
    cfg = {**ARCH["energy"], "normalize": {"mean": [0.25], "std": [0.5]}}
    net = EnergyNet(1, cfg)
    x = torch.rand(3, *SHAPE)
    assert torch.allclose(net.stem[0](x), (x - 0.25) / 0.5)
    with pytest.raises(ValueError, match="normalize: need 1 means"):
        EnergyNet(1, {**ARCH["energy"], "normalize": {"mean": [0.1, 0.2], "std": [1.0, 1.0]}})


def test_dequantisation_stays_inside_each_8_bit_level():
    from latentrepro.models.image.ebm import dequantize

    x = torch.randint(0, 256, (1000,)).float() / 255
    y = dequantize(x)
    assert torch.all(y >= x * 255 / 256) and torch.all(y < x * 255 / 256 + 1 / 256)
    assert torch.equal((y * 256).long(), (x * 255).round().long())  # the authors' uint8 recovery


def test_negatives_are_augmented_buffer_draws_moved_under_the_online_network():
    from latentrepro.sampling.sgld import sgld

    torch.manual_seed(0)
    model = ImageEBM(
        SHAPE, ARCH, {**MODEL, "replay_buffer": {**MODEL["replay_buffer"], "reinit_prob": 0.0}}
    )
    with torch.no_grad():  # an EMA copy far from the online network
        for p in model.ema_net.parameters():
            p.mul_(-3.0)
    seen = []
    model.augment = lambda x: seen.append(x.clone()) or 1.0 - x
    before = model.buffer.images.clone()
    torch.manual_seed(1)
    x_neg = model.negatives(8)
    torch.manual_seed(1)
    _, index = model.buffer.sample(8)
    assert torch.equal(seen[0], before[index])  # the augmentation got the drawn images
    expected = sgld(model.energy, 1.0 - seen[0], model.sgld)  # online net, augmented starts
    assert torch.allclose(x_neg, expected, atol=1e-6)
    assert torch.equal(model.buffer.images[index], x_neg)


def test_cd_loss_is_energy_difference_plus_penalty():
    torch.manual_seed(0)
    model = ImageEBM(SHAPE, ARCH, MODEL)
    batch = {"x": toy_split().x[:16]}
    loss, logs = model.training_step(batch, 0.0)
    assert logs["cd"] == pytest.approx(logs["e_pos"] - logs["e_neg"], abs=1e-6)
    penalty = loss.item() - logs["cd"]  # alpha * mean(E+^2 + E-^2) >= E-terms squared
    assert penalty >= logs["e_pos"] ** 2 + logs["e_neg"] ** 2 - 1e-6


def test_ema_copies_for_its_first_steps_then_averages():
    model = ImageEBM(SHAPE, ARCH, {**MODEL, "ema": {"decay": 0.9, "start": 2}})

    def shift_online_and_step():
        before = [p.clone() for p in model.ema_net.parameters()]
        with torch.no_grad():
            for p in model.net.parameters():
                p.add_(1.0)
        model.after_step()
        return zip(before, model.ema_net.parameters(), model.net.parameters(), strict=True)

    for _ in range(2):  # steps 1 and 2 copy the online weights
        for _, new, online in shift_online_and_step():
            assert torch.equal(new, online)
    for old, new, online in shift_online_and_step():  # step 3 averages
        assert torch.allclose(new, 0.9 * old + 0.1 * online)
    assert int(model.steps_done) == 3 and "steps_done" in model.state_dict()


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
    assert int(weights["steps_done"]) == 4
    if guided:
        assert {"train_simclr", "train_cosine"} <= set(state.history[-1])


def test_clel_encoder_sees_real_images_only_and_extra_negatives_give_the_energy_no_gradient():
    torch.manual_seed(0)
    model = CLEL(SHAPE, GUIDED_ARCH, {**GUIDED, "beta": 0.0})
    sizes = []
    model.encoder.register_forward_hook(lambda m, i, o: sizes.append(i[0].size(0)))
    x_pos = toy_split().x[:8]
    f_pos, f_neg = model.net(x_pos), model.net(torch.rand(8, *SHAPE))
    loss, _ = model.guidance_loss(x_pos, f_pos, f_neg)
    assert sizes == [8, 16]  # the no-grad coupling view, then the two SimCLR views
    loss.backward()
    # beta = 0: the contrastive loss reaches the energy network only through detached g(f(x-))
    assert all(p.grad is None or p.grad.abs().max() == 0 for p in model.net.parameters())
    assert any(p.grad.abs().max() > 0 for p in model.encoder.parameters() if p.grad is not None)


def test_the_coupling_gradient_reaches_the_energy_network_through_g():
    torch.manual_seed(0)
    model = CLEL(SHAPE, GUIDED_ARCH, GUIDED)
    x_pos = toy_split().x[:8]
    f_pos = model.net(x_pos)
    loss, logs = model.guidance_loss(x_pos, f_pos, model.net(torch.rand(8, *SHAPE)))
    loss.backward()
    assert model.net.projection[0].weight.grad.abs().max() > 0
    assert -1.0 <= logs["cosine"] <= 1.0


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


def test_centred_prototypes_remove_the_direction_all_latents_share():
    # unit rows [1, 0], [0, 1], [0, 1]; their mean [1/3, 2/3]; group means [1/2, 1/2], [0, 1]
    latents = torch.tensor([[2.0, 0.0], [0.0, 1.0], [0.0, 5.0]])
    members = torch.tensor([[True, True, False], [False, False, True]])
    expected = torch.tensor([[1.0, -1.0], [-1.0, 1.0]]) / 2**0.5
    assert torch.allclose(prototypes(latents, members, centred=True), expected)


def test_guided_samples_have_one_row_per_class_in_the_unit_box():
    torch.manual_seed(0)
    model = CLEL(SHAPE, GUIDED_ARCH, GUIDED)
    out = guided_samples(model, toy_split(), "digit", {"steps": 2, "weight": 1.0, "per_row": 4})
    for name in ("conditional", "compositional"):
        assert out[name].shape == (3, 4, *SHAPE)
        assert out[name].min() >= 0 and out[name].max() <= 1
    assert out["unguided"].shape == (4, *SHAPE)
    assert not torch.equal(out["conditional"][0], out["conditional"][1])


def test_guided_samples_from_uniform_starts_with_centred_prototypes():
    torch.manual_seed(0)
    model = CLEL(SHAPE, GUIDED_ARCH, GUIDED)
    settings = {"steps": 0, "weight": 1.0, "per_row": 4}
    buffer = guided_samples(model, toy_split(), "digit", settings)
    # zero SGLD steps return the starts: the buffer's first images, or fresh uniform noise
    assert torch.equal(buffer["unguided"], model.buffer.images[:4])
    uniform = guided_samples(
        model, toy_split(), "digit",
        {**settings, "starts": "uniform", "centred": True, "prototype_images": 12},
    )  # fmt: skip
    assert not torch.equal(uniform["unguided"], model.buffer.images[:4])
    assert uniform["conditional"].shape == (3, 4, *SHAPE)
    with pytest.raises(ValueError, match=r"conditional\.starts"):
        guided_samples(model, toy_split(), "digit", {**settings, "starts": "gaussian"})


class BarClassifier(torch.nn.Module):
    """Labels a toy image by the row of its bright bar (the class of toy_split)."""

    def forward(self, x):
        rows = x[:, 0].mean(dim=2)[:, [1, 3, 5]]
        return rows


def test_guided_sample_scores_by_hand():
    from latentrepro.models.image.conditional import class_medians, score_guided

    split = toy_split(48)
    by_class = [split.x[split.labels["digit"] == k][:4] for k in range(3)]
    conditional = torch.stack(by_class)
    conditional[2, :2] = by_class[0][:2]  # class 2: two of four samples show class 0
    compositional = torch.stack(by_class).clone()
    medians = class_medians(split, "digit")
    compositional[:, :, :, 0, 0] = 1.0  # one extra bright pixel: every sample bright
    compositional[1, :3] = by_class[1][:3] * 0  # class 1: three dark, unrecognisable samples
    unguided = torch.cat([by_class[0], by_class[1][:2], by_class[2][:2]])
    scores = score_guided(
        {"conditional": conditional, "compositional": compositional, "unguided": unguided},
        BarClassifier(),
        medians,
    )
    assert scores["conditional_accuracy"] == [1.0, 1.0, 0.5]
    assert scores["compositional_joint_success"] == [1.0, 0.25, 1.0]
    assert scores["unguided_class_rate"] == [0.5, 0.25, 0.25]
    assert scores["chance_conditional"] == pytest.approx(1 / 3)
    assert scores["mean_conditional_accuracy"] == pytest.approx(10 / 12)


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
    import latentrepro.evaluation.image_ebm as evaluation

    torch.manual_seed(1)
    classifier = ImageClassifier(SHAPE, 3, "digit", {"widths": [4], "feature_dim": 6})
    extractor = ClassifierFeatures(classifier.net, "toy")
    monkeypatch.setattr(evaluation, "load_extractor", lambda spec, device: extractor)
    return evaluation


def test_fid_evaluation_names_its_protocol_and_repeats_exactly(untrained_extractor):
    torch.manual_seed(0)
    model = ImageEBM(SHAPE, ARCH, MODEL)
    settings = {
        "fid": {"protocol": "replay", "samples": 40, "batch_size": 16, "sgld_steps": 1},
        "extractor": {},
    }
    first, kept = untrained_extractor.evaluate_image_ebm(
        model, toy_split(), settings, 0, torch.device("cpu")
    )
    again, _ = untrained_extractor.evaluate_image_ebm(
        model, toy_split(), settings, 0, torch.device("cpu")
    )
    assert first["fid"] == again["fid"] and math.isfinite(first["fid"])  # no piled-up stats
    assert first["generated_samples"] == 40 and first["reference_samples"] == 48
    assert first["fid_extractor"].startswith("own classifier, 6-d")
    assert first["fid_protocol"] == "replay"
    assert kept["samples"].shape == (40, *SHAPE)


def test_the_authors_fid_protocol_runs_rounds_over_a_fresh_uniform_buffer(monkeypatch):
    torch.manual_seed(0)
    model = ImageEBM(SHAPE, ARCH, {**MODEL, "sgld": {**MODEL["sgld"], "noise_std": 0.0}})
    calls = []
    model.augment = lambda x: calls.append(x.size(0)) or x
    training_buffer = model.buffer.images.clone()
    samples = model.generate_fresh(30, rounds=3, steps=1, batch_size=16)
    assert samples.shape == (30, *SHAPE) and calls == [16, 14] * 3
    assert torch.equal(model.buffer.images, training_buffer)  # the training buffer is untouched
    assert samples.min() >= 0 and samples.max() <= 1


def test_fid_on_no_more_samples_than_feature_dimensions_is_refused(untrained_extractor):
    model = ImageEBM(SHAPE, ARCH, MODEL)
    settings = {
        "fid": {"protocol": "replay", "samples": 6, "batch_size": 16, "sgld_steps": 1},
        "extractor": {},
    }
    with pytest.raises(ValueError, match=r"evaluate.fid.samples \(6\) must exceed the feature"):
        untrained_extractor.evaluate_image_ebm(model, toy_split(), settings, 0, torch.device("cpu"))


def test_the_offline_fid_path_imports_neither_torch_fidelity_nor_torchvision():
    import subprocess
    import sys

    code = (
        "import sys, torch\n"
        "from latentrepro.evaluation.image_ebm import evaluate_image_ebm, load_extractor\n"
        "from latentrepro.metrics.features import ClassifierFeatures, gaussian_fit\n"
        "from latentrepro.models.image import ImageClassifier\n"
        "c = ImageClassifier((1, 8, 8), 3, 'digit', {'widths': [4], 'feature_dim': 6})\n"
        "gaussian_fit(ClassifierFeatures(c.net, 'toy'), [torch.rand(20, 1, 8, 8)])\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch_fidelity', 'torchvision')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
