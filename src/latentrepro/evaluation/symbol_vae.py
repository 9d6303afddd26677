"""Evaluation of the ``symbol_vae`` family: symbol-coupled text VAEs with an EBM prior (He et
al. protocol plus symbol agreement, reconstruction BLEU and, when asked, the wKL and rPPL of
text generated from the prior)."""

from __future__ import annotations

import contextlib
from typing import Any

import torch

from latentrepro.data.batches import TokenSplit
from latentrepro.evaluation.rppl import reverse_perplexity
from latentrepro.evaluation.text_vae import evaluate_text_vae, first_sentences
from latentrepro.metrics.clustering import symbol_agreement
from latentrepro.metrics.generation import corpus_bleu, unigram_kl
from latentrepro.models.text.symbol_vae import SymbolTextVAE
from latentrepro.progress import track

#: Sentences sampled from the prior and decoded at once.
GENERATE_BATCH = 1000
#: Test batch of the LDEBM authors' homogeneity (their DailyDialog batch size).
AUTHORS_BATCH = 128


def frozen_log_partition(prior: Any, seed: int) -> contextlib.AbstractContextManager:
    """One log Z estimate for a whole evaluation where the prior has a global normaliser."""
    if prior.global_partition:
        return prior.frozen_partition(torch.Generator(prior.device).manual_seed(seed))
    return contextlib.nullcontext()


@torch.no_grad()
def evaluate_symbol_vae(
    model: SymbolTextVAE,
    split: TokenSplit,
    settings: dict[str, Any],
    seed: int,
    device: torch.device,
    train: TokenSplit | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """He et al.'s metrics with the prior's normalised ``log_prob``, NMI and homogeneity of the
    inferred symbol argmax_y p(y | z = E_q z) against every label of the split (each label
    kept apart), corpus BLEU of greedy reconstructions from E_q z, and, when ``settings`` has
    a ``generation`` section, :func:`generation_metrics` (which needs the training split
    ``train``)."""
    with frozen_log_partition(model.prior, seed) as log_z:
        metrics, latents = evaluate_text_vae(model, split, settings, seed, device)
    split = first_sentences(split, settings.get("max_sentences"))
    mu = latents["mu"]
    symbols = torch.cat(
        [model.prior.symbol_logits(chunk.to(device)).argmax(-1).cpu() for chunk in mu.split(1024)]
    )
    for name, labels in sorted(split.labels.items()):
        for key, value in symbol_agreement(labels, symbols).items():
            metrics[f"{name}_{key}"] = value
    metrics["symbols_used"] = int(symbols.unique().numel())
    if split.labels:
        metrics.update(authors_homogeneity(model, latents, split.labels, seed, device))
    decoded: list[list[int]] = []
    max_length = split.tokens.size(1) - 2
    for index in torch.arange(len(split)).split(settings["batch_size"]):
        decoded += model.decoder.generate(mu[index].to(device), max_length)
    metrics["bleu"] = corpus_bleu(_words(decoded), _words(split.word_ids()))
    if log_z is not None:
        metrics["log_z"] = log_z
    metrics["estimators"] = {
        "log_partition": model.prior.estimator,
        "symbol": "argmax_y p(y | z = E_q[z]) over the whole split",
        "homogeneity_authors": (
            f"the LDEBM authors' protocol, for comparison with the paper: homogeneity per "
            f"consecutive full batch of {AUTHORS_BATCH} in split order (the remainder dropped), "
            "averaged, with the symbol of one posterior sample z ~ q(z|x); labels not swapped"
        ),
        "bleu": "sacrebleu corpus BLEU of greedy reconstructions from E_q[z], tokenize=none",
    }
    if "generation" in settings:
        if train is None:
            raise ValueError("evaluate.generation: wKL needs the training split (train=...)")
        generation = settings["generation"]
        scores, notes = generation_metrics(model, train, split, generation, seed, device)
        metrics.update(scores)
        metrics["estimators"].update(notes)
    latents["symbol"] = symbols
    return metrics, latents


@torch.no_grad()
def authors_homogeneity(
    model: SymbolTextVAE,
    latents: dict[str, torch.Tensor],
    labels: dict[str, torch.Tensor],
    seed: int,
    device: torch.device,
) -> dict[str, float]:
    """``<label>_homogeneity_authors``: homogeneity as the LDEBM authors' ``compute_homogeneity``
    scores it (yuPeiyu98/LDEBM @ 37ebc1f unsup_attr_discovery.py:1094-1135): the symbol of a
    posterior sample, homogeneity within each full test batch of :data:`AUTHORS_BATCH`,
    averaged. Batch-level homogeneity runs higher than over the whole split (a batch of 128
    holds few examples per symbol). Their defect of swapping act and emotion is not repeated."""
    generator = torch.Generator().manual_seed(seed)
    mu, std = latents["mu"], (0.5 * latents["logvar"]).exp()
    z = mu + std * torch.randn(mu.shape, generator=generator, dtype=mu.dtype)
    symbols = torch.cat(
        [model.prior.symbol_logits(chunk.to(device)).argmax(-1).cpu() for chunk in z.split(1024)]
    )
    full = len(symbols) // AUTHORS_BATCH * AUTHORS_BATCH
    scores = {}
    for name, truth in sorted(labels.items()):
        per_batch = [
            symbol_agreement(truth[i : i + AUTHORS_BATCH], symbols[i : i + AUTHORS_BATCH])[
                "homogeneity"
            ]
            for i in range(0, full, AUTHORS_BATCH)
        ]
        scores[f"{name}_homogeneity_authors"] = sum(per_batch) / max(len(per_batch), 1)
    scores["authors_sentences"] = full
    return scores


@torch.no_grad()
def generate_from_prior(
    model: SymbolTextVAE,
    n: int,
    max_length: int,
    decode: str,
    generator: torch.Generator,
) -> tuple[list[list[int]], int]:
    """``n`` sentences z ~ p(z) (``prior.sample``), x = decode(z), as word ids without
    ``<s>``/``</s>``, and how many of them reached ``max_length`` words without ``</s>``
    (cut to ``max_length``).

    ``decode`` is ``greedy`` (argmax word at every step) or ``sample`` (ancestral sampling
    from p(w_t | w_<t, z)); both stop a sentence at its first ``</s>``.
    """
    if decode not in ("greedy", "sample"):
        raise ValueError(f"evaluate.generation.decode: {decode!r} is not greedy or sample")
    sentences: list[list[int]] = []
    starts = track(range(0, n, GENERATE_BATCH), f"sentences from the prior ({n})", unit="batches")
    for start in starts:
        z = model.prior.sample(min(GENERATE_BATCH, n - start), generator=generator)
        sentences += model.decoder.generate(z, max_length, decode == "greedy", generator)
    unterminated = sum(len(s) > max_length for s in sentences)
    return [s[:max_length] for s in sentences], unterminated


def generation_metrics(
    model: SymbolTextVAE,
    train: TokenSplit,
    test: TokenSplit,
    generation: dict[str, Any],
    seed: int,
    device: torch.device,
) -> tuple[dict[str, Any], dict[str, str]]:
    """wKL and rPPL of text generated from the prior (the DGM-VAE protocol of LDEBM's PTB
    table, papers.md P1), and notes on how they were estimated.

    ``samples_train + samples_valid`` sentences are generated (:func:`generate_from_prior`,
    sentences at most as long as the longest training sentence). wKL =
    sum_w p_gen(w) log(p_gen(w) / p_train(w)) over the word unigrams of all of them against
    those of ``train`` (:func:`~latentrepro.metrics.generation.unigram_kl`); rPPL is the
    perplexity on ``test`` of a language model trained on the first ``samples_train`` and
    early-stopped on the other ``samples_valid`` (:func:`~latentrepro.evaluation.rppl.reverse_perplexity`).
    """
    model.to(device).eval()
    n_train, n_valid = generation["samples_train"], generation["samples_valid"]
    max_length = train.tokens.size(1) - 2
    generator = torch.Generator(device).manual_seed(seed)
    sentences, unterminated = generate_from_prior(
        model, n_train + n_valid, max_length, generation["decode"], generator
    )
    vocab_size = model.decoder.out.out_features
    metrics: dict[str, Any] = {
        "wkl": unigram_kl(_words(sentences), _words(train.word_ids())),
        "gen_unterminated": unterminated / len(sentences),
    }
    lm_train, lm_valid = sentences[:n_train], sentences[n_train:]
    metrics.update(
        reverse_perplexity(lm_train, lm_valid, test, vocab_size, generation["lm"], seed, device)
    )
    decoding = "greedily" if generation["decode"] == "greedy" else "by ancestral sampling"
    notes = {
        "generation": (
            f"{n_train} + {n_valid} sentences: z ~ p(z) by the prior's sampler, decoded "
            f"{decoding} from <s> to the first </s> (at most {max_length} words; "
            "gen_unterminated = fraction cut there)"
        ),
        "wkl": (
            "sum_w p_gen(w) log(p_gen(w) / p_train(w)) over word unigrams (no <s>, </s>) of "
            "all generated sentences against the training split (the decoder never emits "
            "<pad> or <s>); inf if a generated word never occurs in the training sentences"
        ),
        "rppl": (
            f"perplexity on the real split (tokens incl. </s>, excl. <s> and padding) of a "
            f"1-layer LSTM LM trained on the first {n_train} generated sentences, epoch "
            f"chosen by perplexity on the other {n_valid} (DGM-VAE protocol)"
        ),
    }
    return metrics, notes


def _words(sentences: list[list[int]]) -> list[list[str]]:
    """Word ids as the string tokens the text scores take."""
    return [[str(i) for i in sentence] for sentence in sentences]
