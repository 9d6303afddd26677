"""How each model family is evaluated: one module per family, registered by family name.

:data:`EVALUATORS` holds, for every family of :data:`latentrepro.models.FAMILIES` (same
names), the function that computes the family's metrics of a trained model on a split and
the protocol written into every metrics JSON beside the estimator settings. Each function
takes ``(model, split, settings, seed, device)`` (and ``train=`` for the families that set
``uses_train_split``, ``itos=`` the vocabulary for those that set ``uses_vocabulary``) and returns ``(metrics, latents)``; its module is imported when the
family is evaluated, not with this registry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

Metrics = tuple[dict[str, Any], dict[str, Any]]


@dataclass(frozen=True)
class Evaluator:
    """How the evaluate stage handles one model family."""

    evaluate: Callable[..., Metrics]
    #: How the metrics are estimated, written into every metrics JSON beside the settings.
    protocol: str
    #: Whether ``evaluate`` also takes the training split (keyword ``train``).
    uses_train_split: bool = False
    #: Whether ``evaluate`` also takes the words of a text dataset's ids (keyword ``itos``).
    uses_vocabulary: bool = False


def _text_vae(*args: Any, **kwargs: Any) -> Metrics:
    from latentrepro.evaluation.text_vae import evaluate_text_vae

    return evaluate_text_vae(*args, **kwargs)


def _image_ebm(*args: Any, **kwargs: Any) -> Metrics:
    from latentrepro.evaluation.image_ebm import evaluate_image_ebm

    return evaluate_image_ebm(*args, **kwargs)


def _image_classifier(
    model: nn.Module, split: Any, settings: dict[str, Any], seed: int, device: torch.device
) -> Metrics:
    from latentrepro.train import evaluate_loss

    model.to(device)
    return evaluate_loss(model, split, settings["batch_size"], device), {}


def _text_classifier(*args: Any, **kwargs: Any) -> Metrics:
    from latentrepro.evaluation.text_classifier import evaluate_text_classifier

    return evaluate_text_classifier(*args, **kwargs)


def _symbol_vae(*args: Any, **kwargs: Any) -> Metrics:
    from latentrepro.evaluation.symbol_vae import evaluate_symbol_vae

    return evaluate_symbol_vae(*args, **kwargs)


def _dialogue(*args: Any, **kwargs: Any) -> Metrics:
    from latentrepro.evaluation.dialogue import evaluate_dialogue

    return evaluate_dialogue(*args, **kwargs)


def _points(*args: Any, **kwargs: Any) -> Metrics:
    from latentrepro.evaluation.points import evaluate_points

    return evaluate_points(*args, **kwargs)


EVALUATORS: dict[str, Evaluator] = {
    "lstm_vae": Evaluator(
        _text_vae,
        protocol=(
            "He et al. 2019: nll = -log p(x) per sentence by importance sampling with iw_samples "
            "draws of q(z|x); ppl = exp(sum nll / sum tokens incl. </s>); kl = E_x KL(q(z|x)||p(z)); "
            "mi = He et al. estimator with q(z) aggregated over each mi_aggregate; "
            "au = #dims with Var_x E_q[z_d] >= au_threshold over the split"
        ),
    ),
    "image_ebm": Evaluator(
        _image_ebm,
        protocol=(
            "FID = Frechet distance (float64, eigh-based matrix square root) between Gaussian "
            "fits of extractor features of fid.samples generated images and of the whole "
            "reference split; samples by metrics.fid_protocol: 'authors' = a fresh uniform "
            "buffer, fid.rounds passes of augmentation + fid.sgld_steps SGLD steps under the EMA "
            "energy (CLEL's test_fid.py), 'replay' = distinct training-buffer chains continued "
            "fid.sgld_steps steps; extractor named in metrics.fid_extractor, statistics fresh "
            "per call"
        ),
    ),
    "image_classifier": Evaluator(
        _image_classifier,
        protocol="mean cross-entropy (loss) and error rate (error) over the whole split",
    ),
    "text_classifier": Evaluator(
        _text_classifier,
        protocol=(
            "argmax of the classifier's logits per sentence of the whole split: accuracy = "
            "fraction whose prediction equals the label (error = 1 - accuracy); accuracy_<c> = "
            "fraction of the sentences labelled c predicted c (recall of c), count_<c> = their "
            "number; loss = mean cross-entropy"
        ),
    ),
    "symbol_vae": Evaluator(
        _symbol_vae,
        protocol=(
            "He et al. 2019 as for lstm_vae, with log p(z) of the EBM prior normalised by an "
            "estimated log-partition term (estimators.log_partition); <label>_nmi and "
            "<label>_homogeneity: sklearn scores of each ground-truth label against the symbol "
            "argmax_y p(y|E_q z) over the whole split; bleu: reconstruction BLEU; with "
            "evaluate.generation: wkl and rppl of sentences generated from the prior "
            "(DGM-VAE protocol, estimators.generation/wkl/rppl)"
        ),
        uses_train_split=True,
    ),
    "dialogue_vae": Evaluator(
        _dialogue,
        protocol=(
            "LDEBM response generation: per example z ~ p(z|c), greedy decoding from (z, c); "
            "bleu: sacrebleu corpus BLEU against the reference response; average / extrema / "
            "greedy: embedding scores (Liu et al. 2016) in word vectors trained on the training "
            "responses (responses.word_vectors) unless a file is given, <...> tokens dropped; "
            "distinct_1/2 of the generated responses; rec: -log p(x|E_q z, c) per response; "
            "final weights (the authors take the best epoch on test)"
        ),
        uses_train_split=True,
        uses_vocabulary=True,
    ),
    "point_ebm": Evaluator(
        _points,
        protocol=(
            "as many prior samples as test points, full Langevin budget; mmd2: unbiased MMD^2 "
            "to the test points, Gaussian kernel averaged over bandwidths 0.1, 0.5, 1.0; "
            "modes_covered: fraction of components receiving >= 25% of their uniform share of "
            "samples whose nearest test point (within 0.1) belongs to them; on_data: fraction "
            "of samples within 0.1 of a test point; nll: -log p(x) per test point with the "
            "estimated normaliser"
        ),
    ),
}


def get_evaluator(config: dict[str, Any]) -> Evaluator:
    """The evaluator of a resolved training config's family (``config["model"]["arch"]``)."""
    name = config["model"]["arch"]
    if name not in EVALUATORS:
        raise ValueError(
            f"model.arch: no evaluation for model family {name!r}; known: {sorted(EVALUATORS)}"
        )
    return EVALUATORS[name]
