"""DG-VAE's ablation table and figure, and the interpolation table."""

import pandas as pd
import pytest

from latentrepro.report.dgvae import ablation, interpolation_table


def record(model, seed, mi, au, cu):
    metrics = {"mi": mi, "au": au, "cu": cu, "kl": 1.0, "hole_samples": 10}
    return {"dataset": "toy", "model": model, "seed": seed, "metrics": metrics}


def test_ablation_rows_follow_b_with_mean_and_std_over_seeds(tmp_path):
    records = [
        record("dg_b16", 0, 2.0, 8, 6),
        record("dg_b16", 1, 4.0, 6, 6),
        record("dg_b2", 0, 1.0, 2, 8),
        record("dg_b2", 1, 1.0, 4, 8),
        record("other", 0, 9.0, 9, 9),  # not an ablation model
    ]
    written = ablation(records, {"dg_b2": 2, "dg_b16": 16}, tmp_path / "abl", tmp_path / "abl.png")
    table = pd.read_csv(tmp_path / "abl.csv")
    assert table["|b|"].tolist() == [2, 16]
    assert table["mi"].tolist() == [1.0, 3.0]
    assert table["mi_std"].tolist() == pytest.approx([0.0, 2**0.5], rel=1e-5)
    assert "hole_samples" not in table.columns
    assert "3 ± 1.41" in (tmp_path / "abl.md").read_text()
    assert (tmp_path / "abl.png").read_bytes()[:4] == b"\x89PNG"
    assert len(written) == 4


def test_ablation_without_its_models_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="no metrics of the ablation models"):
        ablation([record("x", 0, 1, 1, 1)], {"dg_b2": 2}, tmp_path / "a", tmp_path / "a.png")


def test_interpolation_table_averages_seeds_and_shows_a_path(tmp_path):
    def run(seed, self_bleu):
        return {
            "dataset": "toy", "model": "dg", "seed": seed, "pairs": 1, "points": 3,
            "scores": {"self_bleu": self_bleu, "distinct_1": 0.5},
            "examples": [{"source": ["a b", "c d"], "path": ["a b", "a d", "c d"]}],
        }  # fmt: skip

    interpolation_table([run(0, 10.0), run(1, 30.0)], tmp_path / "interp")
    text = (tmp_path / "interp.md").read_text()
    assert "20 ± 14.1" in text  # mean 20, sample std sqrt(200)
    assert "- A: a b" in text and "1. a d" in text
    assert text.count("## toy / dg") == 1  # one example per (dataset, model): the first seed


def test_density_pictures_need_two_dimensional_latents(tmp_path):
    import torch

    from latentrepro.report.dgvae import density_pictures

    run = tmp_path / "toy" / "dg" / "seed0.pt"
    run.parent.mkdir(parents=True)
    torch.save({"mu": torch.randn(20, 2), "logvar": torch.zeros(20, 2)}, run)
    figure = density_pictures([run], tmp_path / "density.png")
    assert figure.read_bytes()[:4] == b"\x89PNG"
    torch.save({"mu": torch.randn(20, 3), "logvar": torch.zeros(20, 3)}, run)
    with pytest.raises(ValueError, match="3-D latent, not 2-D"):
        density_pictures([run], tmp_path / "density.png")
