"""host_floats reads several 0-d tensors back as Python floats, in their order and names."""

import pytest
import torch

from latentrepro.scalars import host_floats


def test_values_names_and_order_survive():
    loss = torch.tensor(1.5, requires_grad=True) * 2.0
    out = host_floats({"loss": loss, "cd": torch.tensor(-0.25), "e": torch.tensor(7.0)})
    assert out == {"loss": 3.0, "cd": -0.25, "e": 7.0}
    assert list(out) == ["loss", "cd", "e"]
    assert all(type(v) is float for v in out.values())


def test_non_scalar_is_refused():
    with pytest.raises(RuntimeError):
        host_floats({"a": torch.tensor(1.0), "b": torch.ones(2)})
