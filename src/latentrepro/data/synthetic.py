"""Embedded datasets: generated deterministically from a seed, so they need no network.

The ``write_*`` functions are the registry's generators: they write a dataset's raw files from an
options dict (split sizes, seed, ...); the same options always give byte-identical files.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from latentrepro.io import atomic_path, write_text

SPLITS = ("train", "valid", "test")


def _balanced_labels(n: int, num_classes: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` labels in random order whose class counts differ by at most one."""
    return rng.permutation(np.arange(n, dtype=np.int64) % num_classes)


def grid_centres(side: int = 4, spacing: float = 2.0) -> np.ndarray:
    """Centres of a ``side`` x ``side`` grid centred on the origin; row-major ``[side**2, 2]``.

    Centre ``k`` is at ``(coord[k % side], coord[k // side])`` with
    ``coord = spacing * (arange(side) - (side - 1) / 2)``, i.e. {-3, -1, 1, 3} by default.
    """
    coord = spacing * (np.arange(side) - (side - 1) / 2)
    xs, ys = np.meshgrid(coord, coord)
    return np.stack([xs.ravel(), ys.ravel()], axis=1)


def gaussian_grid(
    n: int, rng: np.random.Generator, side: int = 4, spacing: float = 2.0, std: float = 0.2
) -> tuple[np.ndarray, np.ndarray]:
    """The 16-Gaussian grid: an equal mixture of isotropic Gaussians at :func:`grid_centres`.

    With the defaults the centres are {-3, -1, 1, 3}^2 and each component has standard deviation
    0.2, a tenth of the spacing, so the modes are well separated. Components are balanced (counts
    differ by at most one). Returns ``x`` ``[n, 2]`` float64 and the component ``labels`` ``[n]``.
    """
    labels = _balanced_labels(n, side * side, rng)
    x = grid_centres(side, spacing)[labels] + std * rng.standard_normal((n, 2))
    return x, labels


def pinwheel(
    n: int,
    rng: np.random.Generator,
    arms: int = 10,
    radial_std: float = 0.3,
    tangential_std: float = 0.05,
    rate: float = 0.25,
) -> tuple[np.ndarray, np.ndarray]:
    """The pinwheel: ``arms`` elongated Gaussian blobs, each bent into a spiral arm.

    A point of arm ``k`` starts at radius ``r ~ N(1, radial_std^2)`` and tangential offset
    ``t ~ N(0, tangential_std^2)``; ``(r, t)`` is rotated by ``2*pi*k/arms + rate * exp(r)``, so
    points further out are twisted more (``rate`` sets the twist). Arms are balanced. Returns
    ``x`` ``[n, 2]`` float64 (radius about 1) and the arm ``labels`` ``[n]``.
    """
    labels = _balanced_labels(n, arms, rng)
    radius = 1.0 + radial_std * rng.standard_normal(n)
    offset = tangential_std * rng.standard_normal(n)
    angle = 2 * np.pi * labels / arms + rate * np.exp(radius)
    cos, sin = np.cos(angle), np.sin(angle)
    x = np.stack([radius * cos - offset * sin, radius * sin + offset * cos], axis=1)
    return x, labels


@dataclass(frozen=True)
class Topic:
    """The content words of one latent class."""

    name: str
    nouns: tuple[str, ...]
    verbs: tuple[str, ...]
    adjectives: tuple[str, ...]


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


TOPICS: tuple[Topic, ...] = (
    Topic(
        "farm",
        _words("cow horse sheep goat barn tractor hay pig chicken farmer fence meadow"),
        _words("fed milked herded sheared plowed fenced grazed saddled"),
        _words("muddy woolly grassy rustic hungry spotted fertile dusty"),
    ),
    Topic(
        "kitchen",
        _words("soup oven pan knife recipe bread onion garlic chef kettle spoon butter"),
        _words("baked stirred chopped fried boiled seasoned roasted sliced"),
        _words("spicy crispy salty savory tender buttery sweet greasy"),
    ),
    Topic(
        "sea",
        _words("boat sail anchor harbor wave captain deck island mast tide shore crew"),
        _words("sailed anchored steered docked rowed navigated hoisted moored"),
        _words("briny stormy coastal nautical choppy misty tidal breezy"),
    ),
    Topic(
        "music",
        _words("guitar piano drum song melody band singer violin chorus concert tune orchestra"),
        _words("played sang strummed tuned composed hummed rehearsed conducted"),
        _words("loud melodic rhythmic acoustic harmonic catchy soulful jazzy"),
    ),
    Topic(
        "space",
        _words("rocket planet star orbit comet telescope galaxy astronaut moon satellite crater"),
        _words("launched orbited observed explored beamed charted eclipsed mapped"),
        _words("cosmic lunar stellar orbital starry galactic weightless interstellar"),
    ),
    Topic(
        "weather",
        _words("rain storm cloud wind thunder snow forecast umbrella sky fog lightning drizzle"),
        _words("poured drenched froze flooded chilled soaked predicted warmed"),
        _words("rainy cloudy windy foggy humid chilly snowy sunny"),
    ),
    Topic(
        "sports",
        _words("ball goal team coach match referee stadium player racket trophy score whistle"),
        _words("kicked scored tackled passed won dribbled blocked served"),
        _words("athletic competitive sporty victorious defensive offensive agile energetic"),
    ),
    Topic(
        "computing",
        _words("computer server keyboard program file network code database laptop screen bug"),
        _words("compiled debugged installed rebooted encrypted downloaded typed deployed"),
        _words("digital binary wireless virtual offline remote modular automated"),
    ),
    Topic(
        "garden",
        _words("rose tulip seed soil shovel hedge greenhouse gardener weed vine orchid compost"),
        _words("planted watered pruned weeded dug fertilized trimmed harvested"),
        _words("leafy blooming green fragrant thorny lush floral shady"),
    ),
    Topic(
        "medicine",
        _words("doctor nurse patient clinic pill fever vaccine surgeon bandage hospital cough"),
        _words("treated diagnosed vaccinated examined bandaged cured prescribed healed"),
        _words("sick healthy medical feverish sterile clinical injured contagious"),
    ),
)

# Content-free fillers any class may draw instead of its own words (probability ``shared_prob``).
SHARED = Topic(
    "shared",
    _words("thing place person day friend box"),
    _words("saw liked found took made moved"),
    _words("big small old new good strange"),
)
# Clause templates: N, V and A are noun, verb and adjective slots; other tokens are literal.
_TEMPLATES = tuple(
    _words(template)
    for template in (
        "the A N V the N",
        "a N V a A N",
        "the N was very A",
        "we V the N",
        "there was a A N",
        "my A N V your N",
        "the A N and the A N",
        "they V the A N",
        "the N V a N today",
    )
)
_CONNECTORS = _words("and but because while so then")


def _clause(topic: Topic, rng: np.random.Generator, shared_prob: float) -> list[str]:
    words = []
    for slot in _TEMPLATES[rng.integers(len(_TEMPLATES))]:
        if slot not in ("N", "V", "A"):
            words.append(slot)
            continue
        source = SHARED if rng.random() < shared_prob else topic
        pool = {"N": source.nouns, "V": source.verbs, "A": source.adjectives}[slot]
        words.append(pool[rng.integers(len(pool))])
    return words


def latent_class_corpus(
    n: int,
    rng: np.random.Generator,
    num_classes: int,
    max_clauses: int = 2,
    shared_prob: float = 0.2,
) -> tuple[list[list[str]], np.ndarray]:
    """Sentences from ``num_classes`` latent classes (class ``k`` uses the words of ``TOPICS[k]``).

    A sentence is 1..``max_clauses`` clauses (templates of 4-7 tokens joined by a connective)
    ending in ".", so with the default it has 5-16 tokens. Each content slot takes a word of the
    class's topic, or with probability ``shared_prob`` a class-neutral word. The whole vocabulary
    is about 320 words. Classes are balanced. Returns the token lists and the class ``labels``.
    """
    if not 1 <= num_classes <= len(TOPICS):
        raise ValueError(f"num_classes must be in 1..{len(TOPICS)}, got {num_classes}")
    labels = _balanced_labels(n, num_classes, rng)
    sentences = [_topic_sentence(TOPICS[label], rng, max_clauses, shared_prob) for label in labels]
    return sentences, labels


def _topic_sentence(
    topic: Topic, rng: np.random.Generator, max_clauses: int, shared_prob: float
) -> list[str]:
    """1..``max_clauses`` clauses of ``topic`` joined by connectives, ending in "."."""
    words: list[str] = []
    for index in range(rng.integers(1, max_clauses + 1)):
        if index:
            words.append(_CONNECTORS[rng.integers(len(_CONNECTORS))])
        words.extend(_clause(topic, rng, shared_prob))
    return [*words, "."]


# Question turns of the generated dialogues; T is the slot of the topic's name.
_QUESTIONS = tuple(
    _words(template)
    for template in (
        "what about the T ?",
        "tell me about T .",
        "do you like T ?",
        "let us talk about T .",
        "any news on T ?",
    )
)
#: The two kinds of turn of :func:`dialogue_corpus`, the values of its ``act`` label.
DIALOGUE_ACTS = ("question", "answer")


def dialogue_corpus(
    n: int,
    rng: np.random.Generator,
    num_topics: int,
    max_exchanges: int = 4,
    shared_prob: float = 0.2,
) -> list[list[tuple[int, int, list[str]]]]:
    """``n`` dialogues of 1..``max_exchanges`` question/answer exchanges.

    A question names a topic drawn uniformly from ``TOPICS[:num_topics]`` ("do you like
    music ?"); the answer right after it is a sentence of that topic's words, as
    :func:`latent_class_corpus` writes them, so a response model can only tell an answer's topic
    from its context. A dialogue is a list of ``(topic, act, words)`` turns, ``act`` indexing
    :data:`DIALOGUE_ACTS`.
    """
    if not 1 <= num_topics <= len(TOPICS):
        raise ValueError(f"num_topics must be in 1..{len(TOPICS)}, got {num_topics}")
    dialogues = []
    for _ in range(n):
        turns = []
        for _ in range(rng.integers(1, max_exchanges + 1)):
            topic = int(rng.integers(num_topics))
            question = _QUESTIONS[rng.integers(len(_QUESTIONS))]
            turns.append((topic, 0, [TOPICS[topic].name if w == "T" else w for w in question]))
            turns.append((topic, 1, _topic_sentence(TOPICS[topic], rng, 2, shared_prob)))
        dialogues.append(turns)
    return dialogues


def resolve_options(options: dict[str, Any] | None, defaults: dict[str, Any]) -> dict[str, Any]:
    """``defaults`` updated with ``options``; an unknown key raises ValueError."""
    options = dict(options or {})
    unknown = sorted(set(options) - set(defaults))
    if unknown:
        raise ValueError(f"unknown generator options {unknown}; known: {sorted(defaults)}")
    return {**defaults, **options}


def _split_rng(seed: int, split_index: int) -> np.random.Generator:
    """An independent stream per (seed, split), so split sizes do not change other splits."""
    return np.random.default_rng([seed, split_index])


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write an ``.npz`` (readable by ``np.load``) atomically and byte-deterministically.

    ``np.savez`` stamps the current time into its zip entries; here every entry gets a fixed date.
    """
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        for key in sorted(arrays):
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(arrays[key]), allow_pickle=False)
            entry = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, buffer.getvalue())


TEXT_DEFAULTS: dict[str, Any] = {
    "train": 2000,
    "valid": 300,
    "test": 300,
    "num_classes": 4,
    "seed": 0,
}
DIALOGUE_DEFAULTS: dict[str, Any] = {
    "train": 300,
    "valid": 50,
    "test": 50,
    "num_topics": 4,
    "seed": 0,
}
POINTS_DEFAULTS: dict[str, Any] = {"train": 10000, "valid": 2000, "test": 2000, "seed": 0}
PINWHEEL_DEFAULTS: dict[str, Any] = {**POINTS_DEFAULTS, "arms": 10}
DIGITS_DEFAULTS: dict[str, Any] = {"valid": 200, "test": 300, "seed": 0}


def write_latent_class_corpus(out_dir: Path, options: dict[str, Any]) -> None:
    """Write ``{split}.txt`` as ``class<TAB>sentence`` lines; options as in ``TEXT_DEFAULTS``."""
    opts = resolve_options(options, TEXT_DEFAULTS)
    for index, split in enumerate(SPLITS):
        sentences, labels = latent_class_corpus(
            opts[split], _split_rng(opts["seed"], index), opts["num_classes"]
        )
        lines = (
            f"{label}\t{' '.join(words)}\n" for words, label in zip(sentences, labels, strict=True)
        )
        write_text(out_dir / f"{split}.txt", "".join(lines))


def write_dialogue_corpus(out_dir: Path, options: dict[str, Any]) -> None:
    """Write ``{split}.txt`` of :func:`dialogue_corpus`: one ``topic<TAB>act<TAB>utterance``
    line per turn, an empty line after each dialogue; options as in ``DIALOGUE_DEFAULTS``
    (split sizes in dialogues)."""
    opts = resolve_options(options, DIALOGUE_DEFAULTS)
    for index, split in enumerate(SPLITS):
        dialogues = dialogue_corpus(
            opts[split], _split_rng(opts["seed"], index), opts["num_topics"]
        )
        lines = (
            "".join(f"{topic}\t{act}\t{' '.join(words)}\n" for topic, act, words in turns) + "\n"
            for turns in dialogues
        )
        write_text(out_dir / f"{split}.txt", "".join(lines))


def write_grid16(out_dir: Path, options: dict[str, Any]) -> None:
    """Write ``{split}.npz`` (``x`` float32 ``[n, 2]``, ``label_component``) of the 4x4 grid."""
    opts = resolve_options(options, POINTS_DEFAULTS)
    for index, split in enumerate(SPLITS):
        x, labels = gaussian_grid(opts[split], _split_rng(opts["seed"], index))
        write_npz(out_dir / f"{split}.npz", {"x": x.astype(np.float32), "label_component": labels})


def write_pinwheel(out_dir: Path, options: dict[str, Any]) -> None:
    """Write ``{split}.npz`` (``x`` float32 ``[n, 2]``, ``label_arm``); options add ``arms``."""
    opts = resolve_options(options, PINWHEEL_DEFAULTS)
    for index, split in enumerate(SPLITS):
        x, labels = pinwheel(opts[split], _split_rng(opts["seed"], index), arms=opts["arms"])
        write_npz(out_dir / f"{split}.npz", {"x": x.astype(np.float32), "label_arm": labels})


def write_digits(out_dir: Path, options: dict[str, Any]) -> None:
    """Write scikit-learn's 8x8 digits as ``{split}.npz`` (``x`` ``[n, 1, 8, 8]`` in [0, 1]).

    The 1,797 images have no official split: a permutation drawn from ``seed`` gives the first
    ``test`` images to test, the next ``valid`` to valid and the rest to train. Pixel values 0-16
    are divided by 16. Label ``digit`` is 0-9.
    """
    from sklearn.datasets import load_digits  # deferred: scikit-learn is slow to import

    opts = resolve_options(options, DIGITS_DEFAULTS)
    digits = load_digits()
    if min(opts["valid"], opts["test"]) < 0 or opts["valid"] + opts["test"] >= len(digits.target):
        raise ValueError(f"valid and test sizes must leave training images: {opts}")
    x = (digits.images / 16.0).astype(np.float32)[:, None]
    labels = digits.target.astype(np.int64)
    order = np.random.default_rng(opts["seed"]).permutation(len(labels))
    cut_test, cut_valid = opts["test"], opts["test"] + opts["valid"]
    parts = {
        "test": order[:cut_test],
        "valid": order[cut_test:cut_valid],
        "train": order[cut_valid:],
    }
    for split in SPLITS:
        index = parts[split]
        write_npz(out_dir / f"{split}.npz", {"x": x[index], "label_digit": labels[index]})
