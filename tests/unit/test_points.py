"""The 2-D point family: batching, and evaluation of a prior whose answer is known."""

import math

import pytest
import torch
from torch import nn

from latentrepro.cli import main
from latentrepro.data.points import PointSplit
from latentrepro.evaluation.points import evaluate_points
from latentrepro.models.points import PointDensityModel
from latentrepro.models.priors import LatentEBMPrior


def test_batches_cover_the_split_once():
    points = PointSplit(torch.arange(14.0).view(7, 2), {})
    seen = torch.cat([b["x"] for b in points.batches(3, torch.Generator().manual_seed(0))])
    assert sorted(seen[:, 0].tolist()) == list(range(0, 14, 2))
    assert points.num_batches(3) == 3 and points.num_batches(3, limit=2) == 2


def test_a_flat_ebm_on_standard_normal_points_scores_as_the_standard_normal():
    net = nn.Linear(2, 1)
    nn.init.zeros_(net.weight)
    nn.init.zeros_(net.bias)
    prior = LatentEBMPrior(2, net, None, steps=100, step_size=0.2, log_partition_samples=1000)
    torch.manual_seed(0)
    x = torch.randn(2000, 2)
    quadrant = (x[:, 0] > 0).long() * 2 + (x[:, 1] > 0).long()
    metrics, latents = evaluate_points(
        PointDensityModel(prior), PointSplit(x, {"quadrant": quadrant}), {}, 0, torch.device("cpu")
    )
    # E[-log N(x; 0, I)] = log(2 pi) + 1 in 2-D; log Z = 0 exactly for f = 0.
    assert metrics["nll"] == pytest.approx(math.log(2 * math.pi) + 1, abs=0.05)
    assert metrics["modes_covered"] == 1.0
    assert abs(metrics["mmd2"]) < 0.01
    assert latents["mu"].shape == (2000, 2) and latents["log_density"].shape == (50, 50)


def test_tokenize_stores_point_datasets_as_tensors(tmp_path):
    options = '{"train": 50, "valid": 20, "test": 20, "seed": 0}'
    assert main(["download", "grid16", "--root", str(tmp_path), "--options", options]) == 0
    out = tmp_path / "processed"
    assert main(["tokenize", "grid16", "--raw", str(tmp_path / "grid16"), "--out", str(out)]) == 0
    train = PointSplit.load(out / "train.pt")
    assert train.x.shape == (50, 2) and set(train.labels) == {"component"}
