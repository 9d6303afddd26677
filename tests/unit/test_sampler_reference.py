"""The samplers against plain reference loops written here: bit-identical chains for one seed.

The references are the samplers' update rules spelled out step by step (one ``.item()`` or
host check per step, no hoisted constants), so the vectorised, sync-free samplers must draw the
same random numbers in the same order and do the same float operations.
"""

import pytest
import torch

from latentrepro.models.priors import build_prior
from latentrepro.models.priors.ldebm import DiffusionEBMPrior
from latentrepro.sampling import NonFiniteSampleError, langevin
from latentrepro.sampling.sgld import SGLDConfig, sgld


def reference_langevin(energy, z, steps, step, noise=1.0, generator=None):
    z = z.detach()
    for _ in range(steps):
        z.requires_grad_(True)
        with torch.enable_grad():
            (grad,) = torch.autograd.grad(energy(z).sum(), z)
        eps = torch.randn(z.shape, generator=generator, dtype=z.dtype)
        z = (z - 0.5 * step**2 * grad + noise * step * eps).detach()
        assert bool(torch.isfinite(z).all())
    return z


def reference_stage(prior, t, x_next, generator=None):
    """One LDEBM stage: Langevin on -f(y, t) + ||y - centre||^2 / (2 sigma^2), per-chain steps."""
    schedule = prior.schedule
    var = schedule.sigma.float()[t].pow(2).unsqueeze(-1)
    centre = x_next * schedule.is_recovery.float()[t].unsqueeze(-1)
    step = schedule.step.float()[t].unsqueeze(-1)

    def energy(y):
        return -prior.f(y, t) + ((y - centre).pow(2) / (2 * var)).sum(-1)

    return reference_langevin(energy, x_next, prior.steps, step, generator=generator)


@pytest.fixture
def ldebm():
    torch.manual_seed(0)
    cfg = {
        "name": "ldebm", "symbols": 5, "energy": {"hidden": 16, "blocks": 1, "spectral_norm": False},
        "langevin": {"steps": 4}, "diffusion": {"levels": [0, 200, 400, 999]},
    }  # fmt: skip
    prior = build_prior(cfg, 3)
    assert isinstance(prior, DiffusionEBMPrior)
    return prior


@pytest.mark.parametrize("per_chain", [False, True])
def test_langevin_equals_the_reference_loop(per_chain):
    torch.manual_seed(1)
    net = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.GELU(), torch.nn.Linear(8, 1))

    def energy(z):
        return -net(z).squeeze(-1) + 0.5 * z.pow(2).sum(-1)

    z0 = torch.randn(6, 3)
    step = torch.linspace(0.1, 0.6, 6).unsqueeze(-1) if per_chain else 0.3
    ours = langevin(energy, z0, 7, step, 0.8, torch.Generator().manual_seed(5))
    expected = reference_langevin(energy, z0, 7, step, 0.8, torch.Generator().manual_seed(5))
    assert torch.equal(ours, expected)


def test_langevin_names_the_first_non_finite_step():
    # -z^4 from 2 with step 1 explodes; the reference finds the step where z stops being finite.
    energy, z0 = (lambda z: -z.pow(4).sum(-1)), torch.full((3, 2), 2.0)
    torch.manual_seed(0)
    z, first = z0, None
    for k in range(50):
        z.requires_grad_(True)
        (grad,) = torch.autograd.grad(energy(z).sum(), z)
        z = (z - 0.5 * grad + torch.randn(z.shape)).detach()
        if not bool(torch.isfinite(z).all()):
            first = k + 1
            break
    assert first is not None and first > 1
    torch.manual_seed(0)
    with pytest.raises(NonFiniteSampleError, match=rf"non-finite at step {first} of 50 "):
        langevin(energy, z0, 50, 1.0)


def test_ldebm_prior_sample_equals_the_reference_stages(ldebm):
    ours = ldebm.sample(5, torch.Generator().manual_seed(3))
    generator = torch.Generator().manual_seed(3)
    x = torch.randn(5, 3, generator=generator)
    for t in reversed(range(ldebm.schedule.pairs)):
        level = torch.full((5,), t, dtype=torch.long)
        x = reference_stage(ldebm, level, x, generator) / ldebm.schedule.scale[t].item()
    assert torch.equal(ours, x)


def test_ldebm_training_draw_equals_the_reference(ldebm):
    z = torch.randn(6, 3)
    torch.manual_seed(11)
    loss, logs = ldebm.density_loss(z)

    torch.manual_seed(11)
    s = ldebm.schedule
    top = s.top
    t = torch.randint(0, top, (6,))
    top_level = torch.full((6,), top, dtype=torch.long)

    def pair(level):
        eps_next = torch.randn_like(z)
        x_t = s.marginal_scale.float()[level].unsqueeze(-1) * z + s.sigma_bar.float()[
            level
        ].unsqueeze(-1) * torch.randn_like(z)
        return x_t, s.a.float()[level].unsqueeze(-1) * x_t + s.sigma.float()[level].unsqueeze(
            -1
        ) * eps_next

    x_t, x_next = pair(t)
    x_top, x_above = pair(top_level)
    y = s.scale.float()[t].unsqueeze(-1) * x_t
    y_neg = reference_stage(ldebm, t, x_next)
    top_neg = reference_stage(ldebm, top_level, x_above)
    weight = s.sigma[0] / s.sigma
    w, w_top = weight.float()[t], weight[top].item()
    data = (
        w * ldebm.g(y, t) + w_top * ldebm.g(x_top, top_level)
        - w_top * 0.5 * x_top.pow(2).sum(-1)
    )  # fmt: skip
    negative_level, negative_top = w * ldebm.g(y_neg, t), w_top * ldebm.g(top_neg, top_level)
    expected = -data + (negative_level + negative_top).mean()
    assert torch.equal(loss, expected)
    assert logs["f_neg"] == negative_level.mean().item()
    assert logs["f_top_neg"] == negative_top.mean().item()


def test_ldebm_symbol_input_uses_the_level_zero_constants(ldebm):
    z = torch.randn(4, 3)
    torch.manual_seed(2)
    ours = ldebm.symbol_input(z)
    torch.manual_seed(2)
    s = ldebm.schedule
    x0 = s.marginal_scale[0].item() * z + s.sigma_bar[0].item() * torch.randn_like(z)
    assert torch.equal(ours, s.a[0].item() * x0)


def test_svebm_training_draw_equals_the_reference():
    torch.manual_seed(0)
    cfg = {"name": "svebm", "symbols": 4, "energy": {"hidden": 8},
           "langevin": {"steps": 5, "step_size": 0.5}}  # fmt: skip
    prior = build_prior(cfg, 3)
    z = torch.randn(6, 3)
    torch.manual_seed(4)
    loss, logs = prior.density_loss(z)
    torch.manual_seed(4)
    f_pos = prior.f(z)
    negatives = reference_langevin(prior.energy, torch.randn(6, 3), 5, 0.5)
    f_neg = prior.f(negatives)
    assert torch.equal(loss, -f_pos + f_neg.mean())
    assert (logs["f_pos"], logs["f_neg"]) == (f_pos.mean().item(), f_neg.mean().item())


def test_sgld_equals_the_reference_loop():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.Flatten(),
                              torch.nn.LazyLinear(3))  # fmt: skip

    def energy(x):
        return 0.5 * net(x).square().sum(1)

    x0 = torch.rand(5, 1, 4, 4)
    energy(x0)  # materialise the lazy layer
    config = SGLDConfig(6, 2.0, 0.05, grad_clip=0.01)
    torch.manual_seed(9)
    ours = sgld(energy, x0, config)
    torch.manual_seed(9)
    x = x0.clone()
    for _ in range(6):
        x.requires_grad_(True)
        (grad,) = torch.autograd.grad(energy(x).sum(), x)
        assert bool(torch.isfinite(grad).all())
        x = (x.detach() - 2.0 * grad.clamp(-0.01, 0.01)) + 0.05 * torch.randn_like(x)
        x = x.clamp(0.0, 1.0)
    assert torch.equal(ours, x)


def test_sgld_names_the_step_whose_gradient_is_not_finite():
    calls = []

    def energy(x):
        calls.append(1)
        return x.flatten(1).sum(1) * (float("nan") if len(calls) == 3 else 1.0)

    with pytest.raises(FloatingPointError, match=r"NaN or infinite at step 3 of 5"):
        sgld(energy, torch.rand(2, 1, 2, 2), SGLDConfig(5, 0.1, 0.0))
