"""Evaluation of the ``dialogue_vae`` family: responses generated given their context, scored
against the reference responses (LDEBM's response-generation protocol, Yu et al. 2022 Sec. 4.4;
yuPeiyu98/LDEBM @ 37ebc1f conditional_gen_DD.py:1436-1625).

For every evaluated example, z ~ p(z | c) and the response is decoded greedily from (z, c), as
the authors' ``eval`` does (:1490-1500, their ``hyp-prior`` file). Scores
(:func:`latentrepro.metrics.responses.response_scores`): BLEU and the embedding average, extrema
and greedy scores against the reference, distinct-1/2 of the generated responses. The word
vectors are trained by the evaluation on the training split's responses
(``responses.word_vectors``; the authors' word2vec files are not public), or read from a user's
file in the word2vec text format (``responses.word_vectors.path``). Also reported: the
reconstruction term -log p(x | z = E_q z, c) per response (the authors' ``ABP REC``).

The authors report the best of every epoch's test scores (``max_ave``, ``max_ext``,
``max_grd``, :1595-1622), which selects on the test set; this evaluation scores the final
weights once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from latentrepro.data.batches import TokenSplit
from latentrepro.data.tokenize import Vocab
from latentrepro.metrics.responses import bleu_corpus, distinct_n, embedding_scores
from latentrepro.metrics.word_vectors import WordVectors, train_word_vectors
from latentrepro.models.text.dialogue import DialogueVAE
from latentrepro.progress import track


def _is_word(token: str) -> bool:
    """Whether the embedding scores keep ``token``: the authors drop every ``<...>`` token
    (conditional_gen_DD.py:481-486)."""
    return not (token.startswith("<") and token.endswith(">"))


def _words(ids: list[int], itos: list[str]) -> list[str]:
    return [itos[i] for i in ids]


def word_vectors(
    train: TokenSplit, itos: list[str], settings: dict[str, Any], seed: int
) -> tuple[WordVectors, str]:
    """The user's vectors (``path``) or word2vec trained on the training responses, and a
    description of them for the table caption."""
    if settings.get("path"):
        training = sorted(set(settings) - {"path"})
        if training:
            raise ValueError(
                f"evaluate.responses.word_vectors: a path and training settings {training}; "
                "give one or the other"
            )
        return WordVectors.load(Path(settings["path"])), f"word2vec file {settings['path']}"
    sentences = [_words(ids, itos) for ids in train.word_ids()]
    vectors = train_word_vectors(sentences, seed=seed, **settings)
    options = ", ".join(f"{key} {value}" for key, value in sorted(settings.items()))
    return vectors, f"word2vec ({options}) trained on the {len(sentences)} training responses"


@torch.no_grad()
def evaluate_dialogue(
    model: DialogueVAE,
    split: TokenSplit,
    settings: dict[str, Any],
    seed: int,
    device: torch.device,
    train: TokenSplit,
    itos: list[str],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Scores of responses generated for the first ``responses.max_examples`` examples of
    ``split`` (all for None), decoded up to ``responses.max_length`` words."""
    spec = settings["responses"]
    model.to(device).eval()
    torch.manual_seed(seed)
    generator = torch.Generator(device).manual_seed(seed)
    limit = spec.get("max_examples")
    count = len(split) if limit is None else min(limit, len(split))
    order = torch.arange(count)
    hypotheses: list[list[str]] = []
    references: list[list[str]] = []
    rec, rec_count = 0.0, 0
    batches = split.batches(settings["batch_size"], order=order, device=device)
    for batch in track(batches, total=-(-count // settings["batch_size"]), desc="responses"):
        c = model.condition(batch)
        for ids in model.respond(batch, spec["max_length"], generator, c):
            hypotheses.append(_words(ids, itos))
        for row, length in zip(batch["tokens"].tolist(), batch["lengths"].tolist(), strict=True):
            references.append(_words(row[1 : int(length) - 1], itos))
        mu, _ = model.posterior(batch, c)
        rec += float(-model.log_likelihood(batch["tokens"], mu, c).sum())
        rec_count += batch["tokens"].size(0)
    vectors, described = word_vectors(train, itos, spec["word_vectors"], seed)
    words = [[w for w in h if _is_word(w)] for h in hypotheses]
    reference_words = [[w for w in r if _is_word(w)] for r in references]
    metrics = {
        "bleu": bleu_corpus(hypotheses, references),
        "distinct_1": distinct_n(hypotheses, 1),
        "distinct_2": distinct_n(hypotheses, 2),
        **embedding_scores(words, reference_words, vectors),
        "rec": rec / rec_count,
        "responses": count,
        "protocol_names": {"word_vectors": described},
    }
    return metrics, {}


def _turn_words(row: list[int], itos: list[str]) -> str:
    """A numericalised turn ``<s> w.. </s> <pad>..`` as its words."""
    words = [itos[i] for i in row if i != Vocab.PAD_ID]
    return " ".join(words[1:-1])


@torch.no_grad()
def response_examples(
    model: DialogueVAE,
    split: TokenSplit,
    itos: list[str],
    count: int,
    max_length: int,
    seed: int,
) -> list[dict[str, Any]]:
    """The first ``count`` examples of ``split``: their context turns, the reference and the
    response generated from z ~ p(z | c), as words."""
    model.eval()
    device = next(model.parameters()).device
    torch.manual_seed(seed)
    generator = torch.Generator(device).manual_seed(seed)
    order = torch.arange(min(count, len(split)))
    batch = next(iter(split.batches(len(order), order=order, device=device)))
    generated = model.respond(batch, max_length, generator)
    examples = []
    for i, ids in enumerate(generated):
        turns = batch["context"][i, : int(batch["context_turns"][i])].tolist()
        length = int(batch["lengths"][i])
        examples.append(
            {
                "context": [_turn_words(turn, itos) for turn in turns],
                "reference": " ".join(_words(batch["tokens"][i, 1 : length - 1].tolist(), itos)),
                "generated": " ".join(_words(ids, itos)),
            }
        )
    return examples
