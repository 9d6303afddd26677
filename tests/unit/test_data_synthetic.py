"""Synthetic data: determinism, shapes, balanced labels and the structure each generator makes."""

from __future__ import annotations

import itertools
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from latentrepro.data import synthetic
from latentrepro.data.parsers import parse_npz_splits, parse_synthetic_text
from latentrepro.data.synthetic import (
    TOPICS,
    gaussian_grid,
    grid_centres,
    latent_class_corpus,
    pinwheel,
)


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def test_grid_has_the_sixteen_expected_centres() -> None:
    expected = {(x, y) for x in (-3.0, -1.0, 1.0, 3.0) for y in (-3.0, -1.0, 1.0, 3.0)}
    assert {tuple(centre) for centre in grid_centres()} == expected


def test_grid_points_cluster_around_their_centres() -> None:
    x, labels = gaussian_grid(3200, rng())
    assert x.shape == (3200, 2) and labels.shape == (3200,)
    assert Counter(labels.tolist()) == {k: 200 for k in range(16)}
    centres = grid_centres()
    nearest = np.argmin(((x[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
    assert (nearest == labels).mean() > 0.999
    for k in range(16):
        assert np.abs(x[labels == k].mean(0) - centres[k]).max() < 0.05
    assert (x - centres[labels]).std(0) == pytest.approx([0.2, 0.2], abs=0.01)


def test_generators_are_deterministic_for_a_seed() -> None:
    for generate in (gaussian_grid, pinwheel):
        first, second, other = generate(500, rng(3)), generate(500, rng(3)), generate(500, rng(4))
        np.testing.assert_array_equal(first[0], second[0])
        np.testing.assert_array_equal(first[1], second[1])
        assert not np.array_equal(first[0], other[0])
    assert latent_class_corpus(50, rng(3), 4)[0] == latent_class_corpus(50, rng(3), 4)[0]
    assert latent_class_corpus(50, rng(3), 4)[0] != latent_class_corpus(50, rng(4), 4)[0]


def test_pinwheel_arms_twist_by_rate_times_exp_radius() -> None:
    x, labels = pinwheel(20000, rng(), arms=5, rate=0.25)
    assert x.shape == (20000, 2) and Counter(labels.tolist()) == {k: 4000 for k in range(5)}
    radius = np.hypot(x[:, 0], x[:, 1])
    assert radius.mean() == pytest.approx(1.0, abs=0.02)
    # Near radius 1 the tangential offset is small, so each arm sits at 2*pi*k/5 + 0.25 * e.
    ring = np.abs(radius - 1.0) < 0.05
    turn = np.angle(x[ring, 0] + 1j * x[ring, 1]) - 2 * np.pi * labels[ring] / 5
    mean_turn = np.angle(np.exp(1j * turn).mean())
    assert mean_turn == pytest.approx(0.25 * np.e, abs=0.02)


def test_corpus_shape_lengths_and_small_vocabulary() -> None:
    sentences, labels = latent_class_corpus(2000, rng(), num_classes=10)
    assert len(sentences) == 2000 and Counter(labels.tolist()) == {k: 200 for k in range(10)}
    lengths = [len(sentence) for sentence in sentences]
    assert min(lengths) >= 5 and max(lengths) <= 16
    assert all(sentence[-1] == "." for sentence in sentences)
    vocabulary = {word for sentence in sentences for word in sentence}
    assert 200 < len(vocabulary) < 400


def test_topics_have_disjoint_content_words() -> None:
    words = [set(topic.nouns + topic.verbs + topic.adjectives) for topic in TOPICS]
    words.append(set(synthetic.SHARED.nouns + synthetic.SHARED.verbs + synthetic.SHARED.adjectives))
    for first, second in itertools.combinations(words, 2):
        assert not first & second


def test_latent_class_is_recoverable_from_the_words() -> None:
    """A bag-of-words nearest-centroid classifier fitted on one sample labels another."""
    train, train_labels = latent_class_corpus(2000, rng(1), num_classes=10)
    test, test_labels = latent_class_corpus(1000, rng(2), num_classes=10)
    index = {word: i for i, word in enumerate(sorted({w for s in train + test for w in s}))}

    def bags(sentences: list[list[str]]) -> np.ndarray:
        counts = np.zeros((len(sentences), len(index)))
        for row, sentence in enumerate(sentences):
            for word in sentence:
                counts[row, index[word]] += 1
        return counts / np.linalg.norm(counts, axis=1, keepdims=True)

    train_bags, test_bags = bags(train), bags(test)
    centroids = np.stack([train_bags[train_labels == k].mean(0) for k in range(10)])
    predicted = np.argmax(test_bags @ centroids.T, axis=1)
    assert (predicted == test_labels).mean() > 0.95


def test_corpus_rejects_too_many_classes() -> None:
    with pytest.raises(ValueError, match="num_classes"):
        latent_class_corpus(10, rng(), num_classes=len(TOPICS) + 1)


@pytest.mark.parametrize(
    ("writer", "options"),
    [
        (synthetic.write_latent_class_corpus, {"train": 40, "valid": 8, "test": 8, "seed": 5}),
        (synthetic.write_dialogue_corpus, {"train": 20, "valid": 4, "test": 4, "seed": 5}),
        (synthetic.write_grid16, {"train": 64, "valid": 16, "test": 16, "seed": 5}),
        (synthetic.write_pinwheel, {"train": 64, "valid": 16, "test": 16, "seed": 5, "arms": 4}),
        (synthetic.write_digits, {"valid": 100, "test": 100, "seed": 5}),
    ],
)
def test_writers_give_byte_identical_files(tmp_path: Path, writer, options: dict) -> None:
    writer(tmp_path / "one", options)
    writer(tmp_path / "two", options)
    writer(tmp_path / "three", {**options, "seed": 6})
    names = sorted(path.name for path in (tmp_path / "one").iterdir())
    assert names == sorted(path.name for path in (tmp_path / "two").iterdir())
    assert len(names) == 3
    for name in names:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    assert any(
        (tmp_path / "one" / name).read_bytes() != (tmp_path / "three" / name).read_bytes()
        for name in names
    )


def test_writers_reject_unknown_options(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown generator options"):
        synthetic.write_grid16(tmp_path, {"trian": 10})


def test_text_files_parse_back_with_sizes_and_classes(tmp_path: Path) -> None:
    options = {"train": 30, "valid": 6, "test": 9, "num_classes": 3, "seed": 0}
    synthetic.write_latent_class_corpus(tmp_path, options)
    splits = parse_synthetic_text(tmp_path)
    assert [len(splits[name].sentences) for name in ("train", "valid", "test")] == [30, 6, 9]
    assert Counter(splits["train"].labels["class"]) == {0: 10, 1: 10, 2: 10}


def test_points_files_parse_back(tmp_path: Path) -> None:
    synthetic.write_pinwheel(tmp_path, {"train": 40, "valid": 10, "test": 20, "arms": 4})
    splits = parse_npz_splits(tmp_path)
    assert splits["test"].x.shape == (20, 2) and splits["test"].x.dtype == np.float32
    assert Counter(splits["train"].labels["arm"].tolist()) == {k: 10 for k in range(4)}


def test_digits_split_all_images_in_unit_range(tmp_path: Path) -> None:
    synthetic.write_digits(tmp_path, {"valid": 150, "test": 250, "seed": 0})
    splits = parse_npz_splits(tmp_path)
    sizes = {name: len(split.x) for name, split in splits.items()}
    assert sizes == {"train": 1797 - 400, "valid": 150, "test": 250}
    x = np.concatenate([split.x for split in splits.values()])
    assert x.shape[1:] == (1, 8, 8) and x.dtype == np.float32
    assert x.min() == 0.0 and x.max() == 1.0
    digits = np.concatenate([split.labels["digit"] for split in splits.values()])
    assert Counter(digits.tolist())[0] == 178  # scikit-learn's digits: 178 zeros
    assert sorted(set(digits.tolist())) == list(range(10))
