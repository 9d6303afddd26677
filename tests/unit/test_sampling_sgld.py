"""SGLD against quadratic energies and the replay buffer's contract."""

import pytest
import torch

from latentrepro.sampling.replay_buffer import ReplayBuffer
from latentrepro.sampling.sgld import SGLDConfig, sgld


def test_noiseless_sgld_on_a_quadratic_contracts_geometrically():
    # E = 0.5 ||x - c||^2: x_k - c = (1 - eta)^k (x_0 - c) while the box is not hit.
    c = torch.full((4, 1, 2, 2), 0.5)
    x0 = torch.rand(4, 1, 2, 2, generator=torch.Generator().manual_seed(0))
    out = sgld(lambda x: 0.5 * (x - c).square().flatten(1).sum(1), x0, SGLDConfig(5, 0.1, 0.0))
    assert torch.allclose(out, c + 0.9**5 * (x0 - c), atol=1e-6)


def test_noisy_sgld_reaches_the_stationary_variance_of_the_discretised_chain():
    # Unclamped x' = (1 - eta) x + s eps has stationary variance s^2 / (2 eta - eta^2).
    torch.manual_seed(0)
    eta, s = 0.2, 0.3
    config = SGLDConfig(60, eta, s, low=None, high=None)
    out = sgld(lambda x: 0.5 * x.square().sum(1), torch.zeros(20000, 1), config)
    assert out.mean().item() == pytest.approx(0.0, abs=0.01)
    assert out.var().item() == pytest.approx(s**2 / (2 * eta - eta**2), rel=0.05)


def test_sgld_clamps_into_the_unit_box_and_leaves_parameters_without_gradients():
    net = torch.nn.Linear(3, 1)
    out = sgld(lambda x: -100 * net(x).squeeze(1), torch.rand(8, 3), SGLDConfig(3, 10.0, 0.5))
    assert out.min() >= 0 and out.max() <= 1 and not out.requires_grad
    assert all(p.grad is None for p in net.parameters())


def test_sgld_config_names_bad_settings():
    with pytest.raises(ValueError, match=r"sgld\.step_size"):
        SGLDConfig(10, 0.0, 0.1)
    with pytest.raises(ValueError, match=r"sgld\.steps"):
        SGLDConfig(-1, 1.0, 0.1)


def test_buffer_smaller_than_the_batch_is_a_clear_error():
    buffer = ReplayBuffer(8, (1, 2, 2), 0.0)
    with pytest.raises(
        ValueError, match=r"replay_buffer.size \(8\) is smaller than the batch \(16\)"
    ):
        buffer.sample(16)
    with pytest.raises(ValueError, match=r"replay_buffer\.reinit_prob"):
        ReplayBuffer(8, (1, 2, 2), 1.5)


def test_buffer_returns_distinct_stored_entries_and_stores_pushed_samples():
    torch.manual_seed(0)
    buffer = ReplayBuffer(10, (1, 2, 2), reinit_prob=0.0)
    x, index = buffer.sample(10)
    assert sorted(index.tolist()) == list(range(10))
    assert torch.equal(x, buffer.images[index])
    buffer.push(torch.zeros_like(x[:3]), index[:3])
    assert torch.equal(buffer.images[index[:3]], torch.zeros(3, 1, 2, 2))
    assert "images" in buffer.state_dict()


def test_reinitialisation_probability_one_draws_fresh_noise():
    torch.manual_seed(0)
    buffer = ReplayBuffer(50, (1, 4, 4), reinit_prob=1.0)
    buffer.images.fill_(2.0)  # impossible for fresh U(0, 1) noise
    x, _ = buffer.sample(50)
    assert x.max() < 1.0 and x.min() >= 0.0
