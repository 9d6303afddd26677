"""The symbol-coupled text VAE: optimiser groups, clustering, evaluation with separate labels."""

import json
import math

import pytest
import torch
from sklearn.metrics import homogeneity_score, normalized_mutual_info_score

from latentrepro.cli import main
from latentrepro.data.batches import TokenSplit
from latentrepro.evaluation.symbol_vae import evaluate_symbol_vae
from latentrepro.metrics.clustering import symbol_agreement
from latentrepro.models.text.symbol_vae import SymbolTextVAE
from latentrepro.train import fit

VOCAB = 15


def sklearn_scores(labels, symbols):
    """NMI (arithmetic mean of the entropies, scikit-learn's default, which symbol_agreement
    uses) and homogeneity of ``symbols`` against ``labels``, straight from scikit-learn."""
    truth, predicted = labels.numpy(), symbols.numpy()
    return (
        normalized_mutual_info_score(truth, predicted, average_method="arithmetic"),
        homogeneity_score(truth, predicted),
    )


def spread_readout(z):
    """A fixed p(y | z) readout for the evaluation tests: the nearest of three centres at the
    1/6, 1/2 and 5/6 quantiles of z_0. An untrained prior's own readout gives every sentence
    the same symbol, against which every NMI and homogeneity is 0 whatever the code does."""
    first = z[:, :1]
    return -((first - first.quantile(torch.tensor([1 / 6, 1 / 2, 5 / 6], dtype=z.dtype))) ** 2)


def config(prior="svebm", cluster=0.0, epochs=1):
    priors = {
        "svebm": {"name": "svebm", "symbols": 3, "energy": {"hidden": 8},
                  "langevin": {"steps": 2, "step_size": 0.5}, "log_partition_samples": 500},
        "ldebm": {"name": "ldebm", "symbols": 3, "energy": {"hidden": 8, "blocks": 1},
                  "langevin": {"steps": 2},
                  "diffusion": {"levels": [0, 200, 400, 999]}, "log_partition_samples": 4},
    }  # fmt: skip
    return {
        "dataset": {"name": "toy"},
        "arch": {"embed_dim": 8, "hidden_dim": 12, "latent_dim": 3},
        "model": {
            "name": prior,
            "arch": "symbol_vae",
            "prior": priors[prior],
            "regulariser": {"name": "ebm", "mi_weight": 0.1, "cluster": {"weight": cluster}},
            "optimizer": {"name": "adam", "lr": 0.01},
            "optimizers": {"ebm": {"name": "adam", "lr": 0.001}},
        },
        "train": {"epochs": epochs, "batch_size": 8, "max_batches_per_epoch": None},
        "device": "cpu",
    }


def split(n, seed):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(3, 7, (n,), generator=g)
    tokens = torch.zeros(n, 7, dtype=torch.long)
    for i, length in enumerate(lengths.tolist()):
        tokens[i, :length] = torch.randint(4, VOCAB, (length,), generator=g)
        tokens[i, 0], tokens[i, length - 1] = 1, 2
    labels = {
        "act": torch.randint(0, 4, (n,), generator=g),
        "emotion": torch.randint(0, 7, (n,), generator=g),
    }
    return TokenSplit(tokens, lengths, labels)


def test_the_energy_network_has_its_own_optimiser_group():
    torch.manual_seed(0)
    model = SymbolTextVAE.from_config(config(), VOCAB)
    groups = model.optimizer_groups()
    ebm, rest = {id(p) for p in groups["ebm"]}, {id(p) for p in groups["model"]}
    assert ebm == {id(p) for p in model.prior.parameters()}
    assert not ebm & rest and ebm | rest == {id(p) for p in model.parameters()}


def test_a_gaussian_prior_is_refused():
    cfg = config()
    cfg["model"]["prior"] = {"name": "gaussian"}
    with pytest.raises(ValueError, match="symbol-coupled prior"):
        SymbolTextVAE.from_config(cfg, VOCAB)


@pytest.mark.parametrize("prior", ["svebm", "ldebm"])
def test_training_with_clustering_runs_and_logs_the_cluster_loss(tmp_path, prior):
    cfg = config(prior, cluster=0.5, epochs=2)
    torch.manual_seed(0)
    model = SymbolTextVAE.from_config(cfg, VOCAB)
    _, state = fit(model, split(40, 0), split(16, 1), cfg, 0, tmp_path / "r.pt", False)
    assert state.epoch == 2
    assert "train_cluster_ce" in state.history[-1] and "train_symbol_mi" in state.history[-1]


def test_the_final_weights_are_returned_whatever_the_validation_elbo(tmp_path):
    cfg = config(epochs=3)
    cfg["model"]["optimizer"]["lr"] = 0.3  # a rate at which the validation -ELBO peaks early
    cfg["train"]["batching"] = "shuffled"  # the trajectory the rate was chosen on
    torch.manual_seed(0)
    model = SymbolTextVAE.from_config(cfg, VOCAB)
    weights, state = fit(model, split(40, 0), split(16, 1), cfg, 0, tmp_path / "r.pt", False)
    assert state.epoch == 3 and state.best_epoch < 3
    for key, value in model.state_dict().items():
        assert torch.equal(weights[key], value), key


def test_the_train_command_records_the_last_epoch_as_the_saved_weights(tmp_path):
    # LDEBM's validation loss is NaN (no trustworthy KL), so no epoch is ever "best"; the
    # checkpoint must still say which epoch's weights it holds.
    for name, seed in (("train", 0), ("valid", 1)):
        data = split(24 if name == "train" else 8, seed)
        torch.save({"tokens": data.tokens, "lengths": data.lengths}, tmp_path / f"{name}.pt")
    (tmp_path / "vocab.json").write_text(json.dumps({"itos": [str(i) for i in range(VOCAB)]}))
    out = tmp_path / "model.pt"
    argv = ["train", "--config", json.dumps(config("ldebm", epochs=2)), "--data", str(tmp_path)]
    argv += ["--seed", "0", "--out", str(out), "--history", str(tmp_path / "h.csv")]
    assert main([*argv, "--resume", str(tmp_path / "r.pt"), "--no-progress"]) == 0
    saved = torch.load(out, weights_only=False)
    assert saved["best_epoch"] == -1 and saved["weights_epoch"] == saved["epochs_run"] == 2


def test_evaluation_scores_act_and_emotion_each_against_their_own_labels(monkeypatch):
    torch.manual_seed(0)
    model = SymbolTextVAE.from_config(config(), VOCAB)
    monkeypatch.setattr(model.prior, "symbol_logits", spread_readout)
    test = split(30, 2)
    settings = {"iw_samples": 4, "iw_chunk": 2, "batch_size": 10}
    metrics, latents = evaluate_symbol_vae(model, test, settings, 0, torch.device("cpu"))
    symbols = latents["symbol"]
    # The symbol is argmax_y p(y | z = E_q z), and all three are in use.
    assert torch.equal(symbols, spread_readout(latents["mu"]).argmax(-1))
    assert symbols.shape == (30,) and metrics["symbols_used"] == 3
    for name in ("act", "emotion"):
        nmi, homogeneity = sklearn_scores(test.labels[name], symbols)
        assert metrics[f"{name}_nmi"] == pytest.approx(nmi, abs=1e-12)
        assert metrics[f"{name}_homogeneity"] == pytest.approx(homogeneity, abs=1e-12)
    assert 0 <= metrics["bleu"] <= 100 and "log_partition" in metrics["estimators"]
    assert metrics["nll"] > 0


def test_ldebm_reports_no_likelihood_but_every_other_score(monkeypatch):
    # Its log p(z) estimate is not trustworthy (see DiffusionEBMPrior), so NLL/PPL/KL are NaN.
    torch.manual_seed(0)
    model = SymbolTextVAE.from_config(config("ldebm"), VOCAB)
    monkeypatch.setattr(model.prior, "symbol_logits", spread_readout)
    test = split(20, 2)
    # "shuffled" without a generator: batches 0-9 and 10-19 in split order, so the eps of
    # z ~ q(z|x) are two torch.randn(10, 3) draws after the evaluation's seed.
    settings = {"iw_samples": 2, "batch_size": 10, "batching": "shuffled"}
    metrics, latents = evaluate_symbol_vae(model, test, settings, 0, torch.device("cpu"))
    assert all(math.isnan(metrics[key]) for key in ("nll", "ppl", "kl", "neg_elbo"))
    assert metrics["symbols_used"] == 3
    for name in ("act", "emotion"):
        nmi, homogeneity = sklearn_scores(test.labels[name], latents["symbol"])
        assert metrics[f"{name}_nmi"] == pytest.approx(nmi, abs=1e-12)
        assert metrics[f"{name}_homogeneity"] == pytest.approx(homogeneity, abs=1e-12)
    # Rec: the mean over sentences of -sum_t log p(x_t | x_<t, z), z = mu + sigma * eps,
    # rebuilt here from the decoder's logits with the same eps.
    torch.manual_seed(0)
    rec = 0.0
    with torch.no_grad():
        for index in torch.arange(20).split(10):
            batch = test.batch(index)
            mu, logvar = model.posterior(batch)
            z = mu + (0.5 * logvar).exp() * torch.randn(10, 3)
            logits, _ = model.decoder(batch["tokens"][:, :-1], z)
            targets = batch["tokens"][:, 1:]
            log_p = logits.log_softmax(-1).gather(-1, targets[..., None]).squeeze(-1)
            rec -= (log_p * (targets != 0)).sum().item()
    assert metrics["rec"] == pytest.approx(rec / 20, rel=1e-5)
    assert math.isfinite(metrics["mi"]) and 0 <= metrics["bleu"] <= 100


def test_symbol_agreement_matches_hand_computed_nmi_and_homogeneity():
    # A relabelling of the classes (0->5, 1->3, 2->9) agrees perfectly.
    perfect = symbol_agreement(torch.tensor([0, 0, 1, 1, 2, 2]), torch.tensor([5, 5, 3, 3, 9, 9]))
    assert perfect["nmi"] == pytest.approx(1.0) and perfect["homogeneity"] == pytest.approx(1.0)
    # One symbol for two equally frequent labels: H(C|K) = H(C) = ln 2, I(C; K) = 0.
    single = symbol_agreement(torch.tensor([0, 0, 1, 1]), torch.tensor([0, 0, 0, 0]))
    assert single["nmi"] == pytest.approx(0.0, abs=1e-12)
    assert single["homogeneity"] == pytest.approx(0.0, abs=1e-12)
    # Labels [0, 0, 1, 1], symbols [0, 1, 1, 1]: symbol 0 holds {0}, symbol 1 holds {0, 1, 1}.
    #   H(C) = ln 2, H(K) = ln 4 - 3/4 ln 3, H(C|K) = 3/4 (ln 3 - 2/3 ln 2) = 3/4 ln 3 - 1/2 ln 2
    #   homogeneity = 1 - H(C|K) / H(C) = 3/2 - 3/4 ln 3 / ln 2                   (~0.3113)
    #   I(C; K) = H(C) - H(C|K) = 3/2 ln 2 - 3/4 ln 3
    #   NMI = I / ((H(C) + H(K)) / 2) = (3 ln 2 - 3/2 ln 3) / (3 ln 2 - 3/4 ln 3)  (~0.3437)
    ln2, ln3 = math.log(2), math.log(3)
    mixed = symbol_agreement(torch.tensor([0, 0, 1, 1]), torch.tensor([0, 1, 1, 1]))
    assert mixed["homogeneity"] == pytest.approx(1.5 - 0.75 * ln3 / ln2, abs=1e-12)
    assert mixed["nmi"] == pytest.approx((3 * ln2 - 1.5 * ln3) / (3 * ln2 - 0.75 * ln3), abs=1e-12)
    # Homogeneity is not symmetric in its arguments. Truth [0, 1, 1, 1], symbols [0, 0, 1, 1]:
    #   H(C) = ln 4 - 3/4 ln 3, H(C|K) = 1/2 ln 2 (symbol 0 holds {0, 1}, symbol 1 holds {1, 1})
    #   homogeneity = 1 - 1/2 ln 2 / (2 ln 2 - 3/4 ln 3)                          (~0.3837)
    swapped = symbol_agreement(torch.tensor([0, 1, 1, 1]), torch.tensor([0, 0, 1, 1]))
    assert swapped["homogeneity"] == pytest.approx(
        1 - 0.5 * ln2 / (2 * ln2 - 0.75 * ln3), abs=1e-12
    )
    assert swapped["nmi"] == pytest.approx(mixed["nmi"], abs=1e-12)  # NMI is symmetric


@pytest.mark.parametrize(("prior", "has_kl"), [("svebm", True), ("ldebm", False)])
def test_validation_reports_kl_only_under_a_prior_with_a_trustworthy_likelihood(prior, has_kl):
    torch.manual_seed(0)
    model = SymbolTextVAE.from_config(config(prior), VOCAB)
    batch = split(6, 3).batch(torch.arange(6), torch.device("cpu"))
    sums = model.validation_step(batch)
    assert math.isfinite(sums["rec"]) and sums["count"] == 6
    assert math.isfinite(sums["kl"]) == has_kl and math.isfinite(sums["loss"]) == has_kl


def test_max_sentences_limits_the_symbol_scores_and_bleu_like_the_other_metrics():
    torch.manual_seed(0)
    model = SymbolTextVAE.from_config(config(), VOCAB)
    test = split(30, 2)
    settings = {"iw_samples": 2, "batch_size": 4, "max_sentences": 10}
    metrics, latents = evaluate_symbol_vae(model, test, settings, 0, torch.device("cpu"))
    assert metrics["sentences"] == 10 and latents["symbol"].shape == (10,)
    first = symbol_agreement(test.labels["act"][:10], latents["symbol"])
    assert metrics["act_nmi"] == pytest.approx(first["nmi"])


def test_paper_arch_options_build_a_bidirectional_gru_with_tied_embeddings():
    cfg = config()
    cfg["arch"] = {"embed_dim": 6, "hidden_dim": 6, "latent_dim": 3, "cell": "gru",
                   "bidirectional": True, "encoder_hidden_dim": 5, "tie_embeddings": True}  # fmt: skip
    torch.manual_seed(0)
    model = SymbolTextVAE.from_config(cfg, VOCAB)
    assert isinstance(model.encoder.rnn, torch.nn.GRU) and model.encoder.rnn.bidirectional
    assert model.decoder.out.weight is model.decoder.embed.weight
    batch = split(4, 0).batch(torch.arange(4))
    mu, _ = model.posterior(batch)
    assert mu.shape == (4, 3)
    # The chain rule holds for the GRU decoder as for the LSTM one.
    z = mu.detach()
    with torch.no_grad():
        total = model.log_likelihood(batch["tokens"], z)
        logits, _ = model.decoder(batch["tokens"][:, :-1], z)
    log_p = logits.log_softmax(-1).gather(-1, batch["tokens"][:, 1:, None]).squeeze(-1)
    mask = batch["tokens"][:, 1:] != 0
    assert torch.allclose(total, (log_p * mask).sum(1), atol=1e-5)


def test_tied_embeddings_need_equal_widths():
    cfg = config()
    cfg["arch"] = {"embed_dim": 6, "hidden_dim": 8, "latent_dim": 3, "tie_embeddings": True}
    with pytest.raises(ValueError, match=r"arch\.tie_embeddings"):
        SymbolTextVAE.from_config(cfg, VOCAB)


def test_a_step_at_kl_weight_zero_is_an_autoencoder_step():
    # The authors' ae_train: z = E_q z, loss = reconstruction only, no EBM gradient.
    cfg = config("svebm")
    cfg["model"]["regulariser"]["schedule"] = {
        "name": "cyclical",
        "cycles": 2,
        "zero": 0.5,
        "ratio": 0.25,
    }
    torch.manual_seed(0)
    model = SymbolTextVAE.from_config(cfg, VOCAB)
    batch = split(8, 0).batch(torch.arange(8))
    loss, logs = model.training_step(batch, progress=0.1)  # tau = 0.2 < 0.5: weight 0
    mu, _ = model.posterior(batch)
    rec = -model.log_likelihood(batch["tokens"], mu).mean()
    assert loss.item() == pytest.approx(rec.item(), rel=1e-6) and logs["kl_weight"] == 0
    loss.backward()
    assert all(p.grad is None for p in model.prior.parameters())
    model.zero_grad()
    loss, logs = model.training_step(batch, progress=0.45)  # tau = 0.9: weight 1
    loss.backward()
    assert logs["kl_weight"] == pytest.approx(1.0) and "symbol_mi" in logs
    assert any(p.grad is not None for p in model.prior.parameters())


def test_clustered_epochs_are_balanced_and_each_batch_fits_its_own_pseudo_labels(monkeypatch):
    import latentrepro.models.text.symbol_vae as symbol_vae

    monkeypatch.setattr(
        symbol_vae, "geometric_pseudo_labels", lambda points, k, dims, seed: [0] * 36 + [1] * 4
    )
    torch.manual_seed(0)
    model = SymbolTextVAE.from_config(config("svebm", cluster=0.5), VOCAB)
    train = split(40, 0)
    model.on_epoch_start(0, train)
    order = model.epoch_order(train, torch.Generator().manual_seed(0))
    assert order.shape == (40,) and (order >= 36).sum().item() >= 18  # 21 of each, cut to 40
    seen = {}
    real = torch.nn.functional.cross_entropy

    def cross_entropy(logits, targets, **kwargs):
        if logits.size(-1) == 3 and not kwargs:  # the cluster term (K = 3 symbols)
            seen["targets"] = targets
        return real(logits, targets, **kwargs)

    monkeypatch.setattr("torch.nn.functional.cross_entropy", cross_entropy)
    batch = train.batch(order[:8])
    _, logs = model.training_step(batch, 0.5)
    assert seen["targets"].tolist() == [int(i >= 36) for i in order[:8].tolist()]
    assert "cluster_ce" in logs


def test_data_sampling_keeps_the_shuffle_but_still_fits_the_pseudo_labels():
    cfg = config("svebm", cluster=0.5)
    cfg["model"]["regulariser"]["cluster"]["sampling"] = "data"
    torch.manual_seed(0)
    model = SymbolTextVAE.from_config(cfg, VOCAB)
    train = split(40, 0)
    model.on_epoch_start(0, train)
    assert model.epoch_order(train, torch.Generator()) is None
    _, logs = model.training_step(train.batch(torch.arange(8)), 0.5)
    assert "cluster_ce" in logs


def test_uniform_init_draws_every_parameter_in_its_range():
    cfg = config("ldebm")
    cfg["model"]["uniform_init"] = 0.1
    torch.manual_seed(0)
    model = SymbolTextVAE.from_config(cfg, VOCAB)
    values = torch.cat([p.detach().flatten() for p in model.parameters()])
    assert values.abs().max().item() <= 0.1 and values.std().item() == pytest.approx(
        0.2 / math.sqrt(12), rel=0.05
    )


@pytest.mark.parametrize(("mode", "cell"), [("linear", "lstm"), ("linear_nobias", "gru")])
def test_a_linear_initial_state_is_the_authors_connector(mode, cell):
    cfg = config()
    cfg["arch"] = {
        "embed_dim": 6,
        "hidden_dim": 5,
        "latent_dim": 3,
        "cell": cell,
        "init_state": mode,
    }
    torch.manual_seed(0)
    decoder = SymbolTextVAE.from_config(cfg, VOCAB).decoder
    z = torch.randn(2, 3)
    state = decoder.initial_state(z)
    if cell == "lstm":
        h, c = state
        assert torch.allclose(h[0], decoder.init_hidden(z)) and torch.allclose(
            c[0], decoder.init_cell(z)
        )
    else:
        assert decoder.init_cell.bias is None
        assert torch.allclose(state[0], z @ decoder.init_cell.weight.T)


def test_the_authors_homogeneity_is_per_batch_of_128_and_can_differ_from_the_whole_split():
    from types import SimpleNamespace

    from latentrepro.evaluation.symbol_vae import authors_homogeneity

    # One symbol for all 300 examples; labels 0 in the first batch of 128, 1 in the second,
    # mixed in the 44 left over (dropped). Per batch each symbol holds one label (homogeneity
    # 1); over the split the one symbol holds two (homogeneity 0).
    prior = SimpleNamespace(symbol_logits=lambda z: torch.stack([z[:, 0], -z[:, 0]], -1))
    latents = {"mu": torch.ones(300, 2), "logvar": torch.full((300, 2), -40.0)}
    labels = {"act": torch.cat([torch.zeros(128), torch.ones(128), torch.arange(44) % 2]).long()}
    scores = authors_homogeneity(
        SimpleNamespace(prior=prior), latents, labels, 0, torch.device("cpu")
    )
    assert scores == {"act_homogeneity_authors": 1.0, "authors_sentences": 256}
    whole = symbol_agreement(labels["act"], torch.zeros(300, dtype=torch.long))["homogeneity"]
    assert whole == pytest.approx(0.0)
