"""Resume files that cannot be read are moved aside; training goes on from the epoch before or
from scratch, and still ends with the weights of an uninterrupted run."""

from __future__ import annotations

import os

import pytest
import torch

from latentrepro.io import save_torch
from latentrepro.models.text import TextVAE
from latentrepro.train import ResumeFile, fit
from tests.unit.test_train import config, split


def train(tmp_path, resume, epochs=3):
    cfg = config(epochs)
    torch.manual_seed(123)  # the same initial weights in every run
    model = TextVAE.from_config(cfg, 20)
    return fit(model, split(64, 0), split(16, 1), cfg, 0, resume, False)


def killed_after(epochs, tmp_path, resume, monkeypatch):
    """Train the 3-epoch run, interrupted in the epoch after ``epochs`` (as by a kill)."""
    import latentrepro.train as train_module

    real, calls = train_module.evaluate_loss, {"n": 0}

    def evaluate_then_die(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] > epochs:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(train_module, "evaluate_loss", evaluate_then_die)
        with pytest.raises(KeyboardInterrupt):
            train(tmp_path, resume)


@pytest.fixture
def reference(tmp_path):
    weights, _ = train(tmp_path, tmp_path / "reference.pt")
    return weights


def assert_same(weights, reference):
    for key in reference:
        torch.testing.assert_close(weights[key], reference[key], rtol=0, atol=0)


def test_every_save_keeps_the_epoch_before(tmp_path):
    resume = tmp_path / "r.pt"
    train(tmp_path, resume, epochs=2)
    assert torch.load(resume, weights_only=False)["loop"]["epoch"] == 2
    assert torch.load(ResumeFile(resume).previous, weights_only=False)["loop"]["epoch"] == 1


def test_a_truncated_resume_file_is_moved_aside_and_the_epoch_before_resumed(
    tmp_path, reference, capsys, monkeypatch
):
    resume = tmp_path / "r.pt"
    killed_after(2, tmp_path, resume, monkeypatch)
    os.truncate(resume, 1000)
    weights, state = train(tmp_path, resume)
    err = capsys.readouterr().err
    assert f"warning: resume file {resume} cannot be read (RuntimeError: " in err
    assert f"1,000 bytes); moved it to {resume}.corrupt" in err
    assert f"resuming from {resume}.prev after epoch 1" in err
    assert (tmp_path / "r.pt.corrupt").stat().st_size == 1000
    assert [row["epoch"] for row in state.history] == [1, 2, 3]
    assert_same(weights, reference)


def test_with_both_files_unreadable_training_starts_over(tmp_path, reference, capsys, monkeypatch):
    resume = tmp_path / "r.pt"
    killed_after(2, tmp_path, resume, monkeypatch)
    resume.write_bytes(b"")
    save_torch(ResumeFile(resume).previous, {"not": "a resume file"})
    weights, state = train(tmp_path, resume)
    err = capsys.readouterr().err
    assert f"resume file {resume}.prev cannot be read (not a resume file of this project)" in err
    assert f"no readable state is left at {resume}; training from scratch" in err
    assert sorted(p.name for p in tmp_path.glob("r.pt*")) == [
        "r.pt", "r.pt.corrupt", "r.pt.prev", "r.pt.prev.corrupt",
    ]  # fmt: skip
    assert len(state.history) == 3
    assert_same(weights, reference)


def test_a_resume_file_of_another_configuration_is_said_and_not_used(tmp_path, capsys):
    resume = tmp_path / "r.pt"
    train(tmp_path, resume, epochs=1)
    _, state = train(tmp_path, resume, epochs=2)
    assert f"{resume} was written for another configuration; training from scratch" in (
        capsys.readouterr().err
    )
    assert [row["epoch"] for row in state.history] == [1, 2]


def test_remove_leaves_the_corrupt_files_to_look_at(tmp_path):
    resume = ResumeFile(tmp_path / "r.pt")
    for path in (resume.path, resume.previous, tmp_path / "r.pt.corrupt"):
        path.write_bytes(b"x")
    resume.remove()
    assert [p.name for p in tmp_path.iterdir()] == ["r.pt.corrupt"]
