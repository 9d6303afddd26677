"""The text_classifier family (LDEBM's sentiment classifier): padding is masked, the network
has the authors' layout and size, it learns a keyword task through the shared trainer, the
evaluator's accuracies by hand, and the settings that name a bad key."""

import json
import math

import pytest
import torch
import yaml

from latentrepro.config import (
    EVALUATE_KEYS,
    REPO_ROOT,
    SCHEMA_PATH,
    ParamsError,
    evaluate_config,
    load_params,
    train_config,
)
from latentrepro.data.batches import TokenSplit
from latentrepro.evaluation import EVALUATORS
from latentrepro.evaluation.text_classifier import (
    classification_metrics,
    evaluate_text_classifier,
)
from latentrepro.models import FAMILIES, build_model
from latentrepro.models.text.classifier import TextClassifier
from latentrepro.train import fit

PARAMS = REPO_ROOT / "params.yaml"
BOS, EOS = 1, 2
ARCH = {"embed_dim": 12, "hidden_dim": 10, "projection_dim": 6, "head_hidden": 7}
TINY = {"embed_dim": 4, "hidden_dim": 4, "projection_dim": 4, "head_hidden": 4}


def classifier(cell="gru", bidirectional=True, vocab=50, classes=3, **arch):
    torch.manual_seed(0)
    arch = {**ARCH, "cell": cell, "bidirectional": bidirectional, **arch}
    return TextClassifier(vocab, classes, "sentiment", arch).eval()


def framed(sentences, labels):
    """A TokenSplit of word-id lists as tokenisation writes them: <s> words </s> <pad>..."""
    width = max(len(s) for s in sentences) + 2
    tokens = torch.zeros(len(sentences), width, dtype=torch.long)
    for row, words in enumerate(sentences):
        tokens[row, : len(words) + 2] = torch.tensor([BOS, *words, EOS])
    lengths = torch.tensor([len(s) + 2 for s in sentences])
    return TokenSplit(tokens, lengths, {"sentiment": torch.tensor(labels)})


@pytest.mark.parametrize(("cell", "bidirectional"), [("gru", True), ("lstm", False)])
def test_padding_does_not_change_the_logits(cell, bidirectional):
    model = classifier(cell, bidirectional)
    sentence = torch.tensor([5, 6, 7])
    alone = model(sentence[None], torch.tensor([3]))
    # One batch: the sentence padded to a longer neighbour's width, the same sentence with
    # word ids (not <pad>) past its length, and the neighbour itself.
    words = torch.zeros(3, 9, dtype=torch.long)
    words[0, :3] = sentence
    words[1] = torch.tensor([5, 6, 7, 30, 31, 32, 33, 34, 35])
    words[2] = torch.arange(10, 19)
    logits = model(words, torch.tensor([3, 3, 9]))
    torch.testing.assert_close(logits[0], alone[0], rtol=0, atol=1e-6)
    torch.testing.assert_close(logits[1], alone[0], rtol=0, atol=1e-6)
    assert not torch.allclose(logits[2], alone[0])
    # A split's framing (<s>, </s>, a batch-wide width) reads the same words.
    split = framed([[5, 6, 7], list(range(10, 19))], [0, 1])
    batch = split.batch(torch.tensor([0, 1]))
    torch.testing.assert_close(model(*model.inputs(batch))[0], alone[0], rtol=0, atol=1e-6)
    assert model.inputs(batch)[0][0].tolist() == [5, 6, 7] + [0] * 7  # </s> is not read


def test_the_network_has_the_authors_layout_and_parameter_count():
    v, e, h, p, m, c = 50, 12, 10, 6, 7, 3
    model = classifier(vocab=v, classes=c)
    shapes = {name: tuple(t.shape) for name, t in model.state_dict().items()}
    assert shapes["embed.weight"] == (v, e)
    assert shapes["rnn.weight_ih_l0"] == shapes["rnn.weight_ih_l0_reverse"] == (3 * h, e)
    assert shapes["rnn.weight_hh_l0"] == shapes["rnn.weight_hh_l0_reverse"] == (3 * h, h)
    assert shapes["project.weight"] == (p, 2 * h)  # both directions' last states
    assert [shapes[f"head.{i}.weight"] for i in (0, 2, 4)] == [(m, p), (m, m), (c, m)]
    gru = 2 * 3 * (e * h + h * h + 2 * h)  # per direction: 3 gates, input and hidden maps, 2 biases
    expected = v * e + gru + (2 * h * p + p) + (p * m + m) + (m * m + m) + (m * c + c)
    assert sum(t.numel() for t in model.parameters()) == expected
    # The authors' sizes on the 5,151 words of short Yelp 10k: 512-d embedding, bi-GRU 512,
    # latent_size 40, ebm_hidden 200, two sentiments.
    authors = {"embed_dim": 512, "hidden_dim": 512, "projection_dim": 40, "head_hidden": 200}
    big = TextClassifier(5151, 2, "sentiment", authors)
    assert sum(t.numel() for t in big.parameters()) == (
        5151 * 512 + 2 * 3 * (512 * 512 + 512 * 512 + 1024) + (1024 * 40 + 40)
        + (40 * 200 + 200) + (200 * 200 + 200) + (200 * 2 + 2)
    )  # fmt: skip
    assert model.embed.weight[0].abs().sum() == 0  # <pad> embeds to zero by default


def test_uniform_init_draws_every_parameter_as_the_authors_do():
    model = TextClassifier(50, 3, "sentiment", ARCH, uniform_init=0.1)
    values = torch.cat([p.detach().flatten() for p in model.parameters()])
    assert values.abs().max() <= 0.1 and values.std() > 0.05  # U(-0.1, 0.1): std 0.0577
    assert model.embed.weight[0].abs().sum() > 0  # their draw covers the <pad> row too


def keyword_split(n, seed):
    """Label 1 iff the sentence holds word 4, else it holds word 5; 2-7 filler words 6..39."""
    g = torch.Generator().manual_seed(seed)
    sentences, labels = [], []
    for i in range(n):
        filler = torch.randint(6, 40, (int(torch.randint(2, 8, (), generator=g)),), generator=g)
        at = int(torch.randint(0, len(filler) + 1, (), generator=g))
        words = filler.tolist()
        words.insert(at, 4 if i % 2 else 5)
        sentences.append(words)
        labels.append(i % 2)
    return framed(sentences, labels)


def test_it_learns_a_keyword_task_through_the_shared_trainer(tmp_path):
    arch = {"label": "sentiment", "embed_dim": 16, "hidden_dim": 16, "projection_dim": 8,
            "head_hidden": 16}  # fmt: skip
    config = {
        "dataset": {"name": "toy"},
        "model": {
            "name": "c",
            "arch": "text_classifier",
            "optimizer": {"name": "adam", "lr": 0.01},
        },
        "arch": arch,
        "train": {"epochs": 3, "batch_size": 32},
        "device": "cpu",
    }
    torch.manual_seed(0)
    model = TextClassifier.from_config(config, 40, 2)
    weights, state = fit(
        model, keyword_split(512, 0), keyword_split(128, 1), config, 0, tmp_path / "r.pt", False
    )
    model.load_state_dict(weights)
    metrics, latents = evaluate_text_classifier(
        model, keyword_split(400, 2), {"batch_size": 64}, 0, torch.device("cpu")
    )
    assert metrics["accuracy"] > 0.95, state.history
    assert metrics["accuracy_0"] > 0.9 and metrics["accuracy_1"] > 0.9
    assert latents == {}
    test = keyword_split(400, 2)
    predicted = model.predict(*model.inputs(test.batch(torch.arange(400))))
    assert (predicted == test.labels["sentiment"]).double().mean() == metrics["accuracy"]


def test_the_accuracies_of_a_hand_made_prediction_set():
    predictions = torch.tensor([0, 1, 1, 0, 2, 1])
    targets = torch.tensor([0, 1, 0, 0, 2, 2])
    metrics = classification_metrics(predictions, targets, num_classes=4)
    assert metrics["accuracy"] == pytest.approx(4 / 6) and metrics["error"] == pytest.approx(2 / 6)
    assert metrics["accuracy_0"] == pytest.approx(2 / 3)  # rows 0, 2, 3 -> 0, 1, 0
    assert metrics["accuracy_1"] == 1.0 and metrics["accuracy_2"] == 0.5
    assert [metrics[f"count_{c}"] for c in range(4)] == [3, 1, 2, 0]
    assert metrics["sentences"] == 6
    assert (
        math.isnan(metrics["accuracy_3"])
        and "label value 3" in metrics["null_reasons"]["accuracy_3"]
    )


class FirstWord(TextClassifier):
    """Predicts the first word's id modulo 3 with certainty 10 : 0 : 0."""

    def forward(self, words, lengths):
        return 10.0 * torch.nn.functional.one_hot(words[:, 0] % 3, 3).float()


def test_the_evaluator_pools_the_split_over_batches():
    model = FirstWord(50, 3, "sentiment", ARCH)
    # first words 6, 7, 8, 9, 10 -> predictions 0, 1, 2, 0, 1
    split = framed([[6, 9], [7], [8, 4, 4], [9], [10, 3]], [0, 1, 0, 0, 2])
    metrics, _ = evaluate_text_classifier(model, split, {"batch_size": 2}, 0, torch.device("cpu"))
    assert metrics["accuracy"] == pytest.approx(3 / 5)
    assert metrics["accuracy_0"] == pytest.approx(2 / 3) and metrics["accuracy_2"] == 0.0
    right, wrong = (-torch.log_softmax(torch.tensor([10.0, 0.0, 0.0]), 0))[:2].tolist()
    assert metrics["loss"] == pytest.approx((3 * right + 2 * wrong) / 5)
    assert "accuracy_<c>" in EVALUATORS["text_classifier"].protocol


def test_every_family_is_registered_once_in_each_layer():
    schema = yaml.safe_load(SCHEMA_PATH.read_text())
    archs = set(schema["$defs"]["model"]["properties"]["arch"]["enum"])
    assert set(FAMILIES) == set(EVALUATORS) == set(EVALUATE_KEYS) == archs
    assert "text_classifier" in archs


def test_the_profiles_train_it_on_a_labelled_text_dataset():
    smoke = load_params(PARAMS)
    config = train_config(smoke, "synthetic_text", "sentiment_classifier")
    assert config["arch"]["label"] == "class" and config["model"]["arch"] == "text_classifier"
    assert evaluate_config(smoke, "synthetic_text", "sentiment_classifier")["evaluate"] == {
        "batch_size": 300
    }
    cpu = train_config(
        load_params(PARAMS, {"profile": "cpu"}), "short_yelp_10k", "sentiment_classifier"
    )
    assert cpu["arch"] == {"label": "sentiment", "embed_dim": 512, "hidden_dim": 512,
                           "projection_dim": 40, "head_hidden": 200, "dropout": 0.3}  # fmt: skip
    assert cpu["train"]["batch_size"] == 128 and cpu["model"]["optimizer"]["lr"] == 0.001


@pytest.mark.parametrize(
    ("override", "needle"),
    [
        (
            {"archs.text_classifier.synthetic_text.widths": [4]},
            r"archs\.text_classifier\.synthetic_text: unknown key 'widths'",
        ),
        (
            {"archs.text_classifier.synthetic_text.cell": "rnn"},
            r"archs\.text_classifier\.synthetic_text\.cell: 'rnn' is not one of",
        ),
        (
            {"archs.text_classifier.synthetic_text": TINY},
            r"archs\.text_classifier\.synthetic_text: 'label' is a required property",
        ),
        (
            {
                "profiles.smoke.experiments.clel.evaluate.extractor": {
                    "kind": "classifier",
                    "model": "sentiment_classifier",
                }
            },
            r"evaluate\.extractor\.model: 'sentiment_classifier' is not an image_classifier model",
        ),
        (
            {
                "profiles.smoke.experiments.sentiment_classifier.datasets": ["digits"],
                "archs.text_classifier.digits": {"label": "digit", **TINY},
            },
            r"experiments\.sentiment_classifier\.datasets: 'digits' is not a registered text "
            r"dataset \(the text_classifier model 'sentiment_classifier' trains on it\)",
        ),
        (
            {"samples.conditional.experiments": ["clel", "sentiment_classifier"]},
            r"sentiment_classifier \(samples\.conditional\.scorer\): 'fid_classifier' is not a "
            r"text_classifier model",
        ),
        (
            {
                "samples.conditional.experiments": ["clel", "text_vae"],
                "profiles.smoke.experiments.text_vae.samples": {
                    "conditional": {"scorer": "sentiment_classifier"}
                },
                "profiles.smoke.experiments.text_vae.datasets": ["ptb"],
            },
            r"text_vae \(samples\.conditional\.scorer\): no experiment of the profile trains "
            r"'sentiment_classifier' on 'ptb'",
        ),
    ],
)
def test_bad_settings_name_their_key(override, needle):
    with pytest.raises(ParamsError, match=needle):
        load_params(PARAMS, override)


def test_a_text_classifier_scores_text_where_a_scorer_is_asked_for():
    # A text experiment drawn by conditional samples, with the classifier as its scorer: the
    # scorer is accepted (the conditional sampler's models are image EBMs, not in it).
    own = {"conditional": {"scorer": "sentiment_classifier"}}
    params = load_params(
        PARAMS,
        {
            "samples.conditional.experiments": ["clel", "sentiment_classifier"],
            **{
                f"profiles.{p}.experiments.sentiment_classifier.samples": own
                for p in ("smoke", "cpu")
            },
        },
    )
    assert params["samples"]["conditional"]["scorer"] == "fid_classifier"  # images keep theirs


def test_a_label_the_data_lacks_is_named_at_its_arch_key(tmp_path):
    stats = {"splits": {"train": {"label_counts": {"class": {"0": 5, "1": 5}}}}}
    (tmp_path / "stats.json").write_text(json.dumps(stats))
    (tmp_path / "vocab.json").write_text(json.dumps({"itos": ["<pad>", "<s>", "</s>", "<unk>"]}))
    config = train_config(load_params(PARAMS), "synthetic_text", "sentiment_classifier")
    assert build_model(config, tmp_path, 0).num_classes == 2
    config["arch"]["label"] = "sentiment"
    with pytest.raises(
        ValueError,
        match=r"archs\.text_classifier\.synthetic_text\.label: synthetic_text has no label "
        r"'sentiment'; its labels: \['class'\]",
    ):
        build_model(config, tmp_path, 0)
