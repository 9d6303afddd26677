"""Result tables: mean ± sample std over seeds, formats, and the figures' input handling."""

from pathlib import Path

import pandas as pd
import pytest
import torch

from latentrepro.report.experiments import build_report
from latentrepro.report.figures import run_label
from latentrepro.report.tables import collect_metrics, summarise, write_table


def record(dataset, model, seed, **metrics):
    return {"dataset": dataset, "model": model, "seed": seed, "metrics": {"tokens": 9, **metrics}}


def test_summary_is_mean_and_sample_std_over_seeds():
    frame = collect_metrics(
        [record("d", "vae", s, nll=v, au=a) for s, v, a in [(0, 1.0, 2), (1, 2.0, 4), (2, 6.0, 6)]]
        + [record("d", "beta", 0, nll=5.0, au=1)]
    )
    assert "tokens" not in frame.columns
    means, stds = summarise(frame)
    assert means.loc[("d", "vae"), "nll"] == pytest.approx(3.0)
    assert stds.loc[("d", "vae"), "nll"] == pytest.approx(((4 + 1 + 9) / 2) ** 0.5)  # ddof=1
    assert means.loc[("d", "vae"), "seeds"] == 3
    assert pd.isna(stds.loc[("d", "beta"), "nll"])


def test_written_tables(tmp_path):
    frame = collect_metrics(
        [record("d", "vae", 0, kl=0.00152, nll=1.0), record("d", "vae", 1, kl=0.00252, nll=2.0)]
    )
    paths = write_table(*summarise(frame), tmp_path / "t")
    markdown = paths[0].read_text()
    assert " NLL |" in markdown and "1.5 ± 0.707" in markdown
    assert "0.00202 ± 0.000707" in markdown  # small values keep their significant digits
    csv = pd.read_csv(paths[1])
    assert csv.loc[0, "nll"] == pytest.approx(1.5) and csv.loc[0, "nll_std"] == pytest.approx(
        0.5**0.5
    )
    assert r"$\pm$" in paths[2].read_text()


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("results/curves/ptb/vae/seed0.csv", ("ptb", "vae", "seed0")),
        ("results/checkpoints/ptb/vae/seed2/model.pt", ("ptb", "vae", "seed2")),
    ],
)
def test_run_label(path, expected):
    assert run_label(Path(path)) == expected


def test_build_report_writes_every_declared_output(tmp_path):
    import json

    metrics, histories, latents = [], [], []
    for seed in (0, 1):
        m = tmp_path / f"metrics/d/vae/seed{seed}.json"
        m.parent.mkdir(parents=True, exist_ok=True)
        m.write_text(json.dumps(record("d", "vae", seed, nll=1.0 + seed, au=seed)))
        h = tmp_path / f"curves/d/vae/seed{seed}.csv"
        h.parent.mkdir(parents=True, exist_ok=True)
        h.write_text("epoch,val_loss,train_kl\n1,3.0,0.5\n2,2.0,0.4\n")
        z = tmp_path / f"latents/d/vae/seed{seed}.pt"
        z.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"mu": torch.randn(30, 3), "labels": {"class": torch.arange(30) % 3}}, z)
        metrics.append(m), histories.append(h), latents.append(z)
    other = tmp_path / "metrics/d/ebm/seed0.json"
    other.parent.mkdir(parents=True)
    other.write_text(json.dumps(record("d", "ebm", 0, nll=9.0, mmd2=0.5)))
    metrics.append(other)
    written = build_report(
        {"exp": {"datasets": ["d"], "models": ["vae"]}, "other": {"datasets": ["d"], "models": ["ebm"]}},
        metrics, histories, latents, tmp_path / "tables", tmp_path / "figures", tmp_path / "summary.json",
    )  # fmt: skip
    names = sorted(p.name for p in written if "other" not in p.name)
    assert names == [
        "exp.csv",
        "exp.md",
        "exp.tex",
        "exp_curves.png",
        "exp_latents.png",
        "summary.json",
    ]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["exp"]["d/vae"]["nll"] == pytest.approx(1.5)
    # Each table has only the columns its own runs report.
    assert "mmd2" not in (tmp_path / "tables/exp.csv").read_text()
    assert "mmd2" in (tmp_path / "tables/other.csv").read_text()
