"""The training loop: exact resume after a kill, NaN guard, lr decay on plateau."""

import math

import pytest
import torch
from torch import nn

from latentrepro.data.batches import TokenSplit
from latentrepro.models.text import TextVAE
from latentrepro.train import NonFiniteLossError, fit


def split(n, seed):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(3, 8, (n,), generator=g)
    tokens = torch.zeros(n, 8, dtype=torch.long)
    for i, length in enumerate(lengths.tolist()):
        tokens[i, :length] = torch.randint(4, 20, (length,), generator=g)
        tokens[i, 0], tokens[i, length - 1] = 1, 2
    return TokenSplit(tokens, lengths, {})


def config(epochs=3, **model):
    return {
        "dataset": {"name": "toy"},
        "arch": {"embed_dim": 8, "hidden_dim": 16, "latent_dim": 4, "dropout": 0.2},
        "model": {
            "name": "vae",
            "prior": {"name": "gaussian"},
            "regulariser": {"name": "kl", "schedule": {"name": "linear", "warmup": 0.5}},
            "optimizer": {"name": "adam", "lr": 0.01, "clip_norm": 5.0},
            **model,
        },
        "train": {"epochs": epochs, "batch_size": 16, "max_batches_per_epoch": None},
        "device": "cpu",
    }


def test_a_killed_run_resumes_to_the_same_weights(tmp_path, monkeypatch):
    train, valid, cfg = split(64, 0), split(16, 1), config()
    torch.manual_seed(123)
    reference, _ = fit(TextVAE.from_config(cfg, 20), train, valid, cfg, 0, tmp_path / "a.pt", False)

    import latentrepro.train as train_module

    real = train_module.evaluate_loss
    calls = {"n": 0}

    def killed_in_epoch_two(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(train_module, "evaluate_loss", killed_in_epoch_two)
    torch.manual_seed(123)
    killed = TextVAE.from_config(cfg, 20)
    torch.manual_seed(999)  # whatever the process's RNG state, fit seeds itself
    with pytest.raises(KeyboardInterrupt):
        fit(killed, train, valid, cfg, 0, tmp_path / "b.pt", False)
    assert torch.load(tmp_path / "b.pt", weights_only=False)["loop"]["epoch"] == 1
    monkeypatch.setattr(train_module, "evaluate_loss", real)
    torch.manual_seed(7)
    resumed, state = fit(
        TextVAE.from_config(cfg, 20), train, valid, cfg, 0, tmp_path / "b.pt", False
    )
    assert state.epoch == 3 and len(state.history) == 3
    for key in reference:
        torch.testing.assert_close(resumed[key], reference[key], rtol=0, atol=0)


def test_a_checkpoint_of_another_config_is_not_resumed(tmp_path):
    train, valid = split(32, 0), split(8, 1)
    fit(TextVAE.from_config(config(1), 20), train, valid, config(1), 0, tmp_path / "r.pt", False)
    _, state = fit(
        TextVAE.from_config(config(2), 20), train, valid, config(2), 0, tmp_path / "r.pt", False
    )
    assert [row["epoch"] for row in state.history] == [1, 2]


class Scripted(nn.Module):
    """A model whose validation losses follow a script; training does nothing useful."""

    def __init__(self, val_losses, train_loss=1.0):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(()))
        self.val_losses, self.train_loss, self.epoch = list(val_losses), train_loss, 0

    def training_step(self, batch, progress):
        return self.w * 0 + self.train_loss, {"loss": float(self.train_loss)}

    def validation_step(self, batch):
        return {
            "loss": self.val_losses[self.epoch] * batch["tokens"].size(0),
            "count": batch["tokens"].size(0),
        }


def test_non_finite_loss_stops_training(tmp_path):
    model = Scripted([1.0], train_loss=math.nan)
    with pytest.raises(NonFiniteLossError, match="non-finite training loss nan at epoch 1"):
        fit(model, split(8, 0), split(8, 1), config(1), 0, tmp_path / "r.pt", False)


def test_lr_halves_on_plateau_and_stops_after_max_decays(tmp_path, monkeypatch):
    losses = [5.0, 4.0, 4.5, 4.5, 3.0, 3.5, 3.5, 9.0, 9.0]
    model = Scripted(losses)
    import latentrepro.train as train_module

    real = train_module.evaluate_loss

    def advancing(*args, **kwargs):
        out = real(*args, **kwargs)
        model.epoch += 1
        return out

    monkeypatch.setattr(train_module, "evaluate_loss", advancing)
    decay = {"factor": 0.5, "patience": 2, "start_epoch": 0, "max_decays": 2}
    cfg = config(len(losses), optimizer={"name": "sgd", "lr": 1.0}, lr_decay=decay)
    _, state = fit(model, split(8, 0), split(8, 1), cfg, 0, tmp_path / "r.pt", False)
    lrs = [row["lr"] for row in state.history]
    # Rows hold the lr each epoch trained with. Epochs 3-4 fail to beat 4.0 -> halve after
    # epoch 4; epoch 5 improves; epochs 6-7 fail -> halve a second time and stop.
    assert lrs == [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5]
    assert state.stopped_early and state.decays == 2
    # The tracker holds the best *validation* loss (the authors' code reset it to a train loss).
    assert state.best_val == 3.0 and state.best_epoch == 5


def test_on_epoch_start_sees_every_epoch_and_the_training_split(tmp_path):
    seen = []

    class Recording(TextVAE):
        def on_epoch_start(self, epoch, split_):
            seen.append((epoch, len(split_)))

    cfg = config(epochs=3)
    train = split(32, 0)
    fit(Recording.from_config(cfg, 20), train, split(8, 1), cfg, 0, tmp_path / "r.pt", False)
    assert seen == [(0, 32), (1, 32), (2, 32)]


def test_lr_schedules_match_torchs_schedulers_stepped_once_per_iteration():
    from latentrepro.train import lr_factor

    param = nn.Parameter(torch.zeros(1))
    warm = torch.optim.Adam([param], lr=1.0)
    warmup = torch.optim.lr_scheduler.LambdaLR(warm, lambda k: min((k + 1) / 4, 1.0))
    sgd = torch.optim.SGD([param], lr=1.0)
    cosine = torch.optim.lr_scheduler.CosineAnnealingLR(sgd, 10)
    for step in range(10):
        assert lr_factor({"warmup_steps": 4}, step, 10) == pytest.approx(warm.param_groups[0]["lr"])
        assert lr_factor({"anneal": "cosine"}, step, 10) == pytest.approx(sgd.param_groups[0]["lr"])
        warm.step(), warmup.step(), sgd.step(), cosine.step()
    assert lr_factor({}, 3, 10) == 1.0
    assert lr_factor({"anneal": "cosine"}, 5, 10) == pytest.approx(0.5)


def test_an_iterations_budget_runs_exactly_that_many_steps_with_scheduled_lrs(tmp_path):
    cfg = config()
    cfg["train"] = {"iterations": 7, "batch_size": 16, "max_batches_per_epoch": 3}
    cfg["model"]["optimizer"] = {"name": "adam", "lr": 0.01, "warmup_steps": 10}
    _, state = fit(
        TextVAE.from_config(cfg, 20), split(64, 0), split(16, 1), cfg, 0, tmp_path / "r.pt", False
    )
    assert state.step == 7 and state.epoch == 3
    assert [row["step"] for row in state.history] == [3, 6, 7]
    assert state.history[-1]["lr"] == pytest.approx(0.01 * 7 / 10)  # the lr of step index 6


def test_epochs_and_iterations_together_are_refused():
    from latentrepro.train import training_budget

    with pytest.raises(ValueError, match="either epochs or iterations"):
        training_budget({"epochs": 2, "iterations": 5, "batch_size": 4}, 3)
    assert training_budget({"epochs": 2, "batch_size": 4}, 3) == (6, 2)
    assert training_budget({"iterations": 100_000, "batch_size": 64}, 703) == (100_000, 143)


def test_a_model_can_set_the_order_of_an_epochs_batches(tmp_path):
    seen = []

    class Ordered(TextVAE):
        def epoch_order(self, split_, generator):
            return torch.tensor([5, 5, 0, 1] * 4)  # repeats allowed, as in balanced draws

        def training_step(self, batch, progress):
            seen.append(batch["index"].tolist())
            return super().training_step(batch, progress)

    cfg = config(epochs=1)
    cfg["train"]["batch_size"] = 4
    fit(Ordered.from_config(cfg, 20), split(16, 0), split(8, 1), cfg, 0, tmp_path / "r.pt", False)
    assert seen == [[5, 5, 0, 1]] * 4


def test_a_log_key_of_some_steps_is_averaged_over_those_steps(tmp_path):
    class Sometimes(TextVAE):
        calls = 0

        def training_step(self, batch, progress):
            loss, logs = super().training_step(batch, progress)
            Sometimes.calls += 1
            return loss, {**logs, **({"odd": 3.0} if Sometimes.calls % 2 else {})}

    cfg = config(epochs=1)
    _, state = fit(
        Sometimes.from_config(cfg, 20), split(64, 0), split(8, 1), cfg, 0, tmp_path / "r.pt", False
    )
    assert state.history[0]["train_odd"] == 3.0


def test_an_epoch_line_names_the_reconstruction_where_the_prior_reports_no_likelihood():
    from latentrepro.train import _validation_summary

    assert _validation_summary({"loss": 91.25, "rec": 90.0}) == "val loss 91.2500"
    no_elbo = {"loss": float("nan"), "rec": 73.5, "kl": float("nan")}
    assert (
        _validation_summary(no_elbo) == "val rec 73.5000 (no ELBO: the prior reports no likelihood)"
    )


def test_validation_runs_without_autograd():
    from latentrepro.data.batches import TokenSplit
    from latentrepro.train import evaluate_loss

    class Recorder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.grad_enabled: list[bool] = []

        def validation_step(self, batch):
            self.grad_enabled.append(torch.is_grad_enabled())
            return {"loss": 2.0, "count": 1.0}

    split = TokenSplit(torch.tensor([[1, 5, 2]] * 3), torch.tensor([3, 3, 3]), {})
    model = Recorder()
    assert evaluate_loss(model, split, 2, torch.device("cpu")) == {"loss": 2.0}
    assert model.grad_enabled == [False, False]
