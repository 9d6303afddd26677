"""The text VAE with a symbol-coupled EBM prior (SVEBM-IB, LDEBM): the LSTM VAE of
:mod:`lstm_vae` (or, with arch options ``cell``/``bidirectional``/``tie_embeddings``/
``encoder_hidden_dim``, the recurrent modules of :mod:`rnn`) plus a separate optimiser group for the energy network and, optionally, LDEBM's
geometric clustering regulariser (papers.md P1)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from latentrepro.data.batches import TokenSplit
from latentrepro.models.clustering import ClusterResampler, geometric_pseudo_labels
from latentrepro.models.priors import EBMPrior
from latentrepro.models.text.lstm_vae import TextVAE
from latentrepro.models.text.rnn import OPTIONS, build_rnn

#: Sentences encoded at once when the clustering pass encodes the training split.
ENCODE_BATCH = 512


class SymbolTextVAE(TextVAE):
    """``loss = rec + w * KL surrogate - w_MI * I(y; z) + w_cls * CE(p(y | E_q z), pseudo-label)``.

    The cross-entropy term is computed on a second minibatch drawn uniformly over the k-means
    clusters of the training posterior means, which are recomputed at the start of every epoch
    (``cluster.weight`` 0 disables it).

    The final weights are kept (``keep_last_weights``): the objective departs from the ELBO on
    purpose (KL weight below one, the information and clustering terms), so the validation
    -ELBO does not rank its epochs; it picked the first epoch, before the symbols had formed.
    """

    keep_last_weights = True

    def __init__(
        self, *parts: nn.Module, cluster_weight: float = 0.0, cluster_dims: int = 3
    ) -> None:
        super().__init__(*parts)
        if not isinstance(self.prior, EBMPrior) or not self.prior.symbols:
            raise ValueError("prior.name: a symbol VAE needs a symbol-coupled prior (svebm, ldebm)")
        if cluster_weight < 0:
            raise ValueError(f"regulariser.cluster.weight: must be >= 0, got {cluster_weight}")
        self.cluster_weight, self.cluster_dims = cluster_weight, cluster_dims
        self._clusters: tuple[TokenSplit, ClusterResampler] | None = None

    @classmethod
    def from_config(cls, config: dict[str, Any], vocab_size: int) -> SymbolTextVAE:
        base = TextVAE.from_config(config, vocab_size)
        encoder, decoder = base.encoder, base.decoder
        if any(key in config["arch"] for key in OPTIONS):
            encoder, decoder = build_rnn(config["arch"], vocab_size)
        cluster = config["model"]["regulariser"].get("cluster", {})
        return cls(
            encoder,
            decoder,
            base.prior,
            base.regulariser,
            cluster_weight=cluster.get("weight", 0.0),
            cluster_dims=cluster.get("dims", 3),
        )

    def optimizer_groups(self) -> dict[str, list[nn.Parameter]]:
        """The energy network trains with its own optimiser (``optimizers.ebm``)."""
        ebm = {id(p) for p in self.prior.parameters()}
        return {
            "model": [p for p in self.parameters() if id(p) not in ebm],
            "ebm": list(self.prior.parameters()),
        }

    @torch.no_grad()
    def on_epoch_start(self, epoch: int, split: TokenSplit) -> None:
        """Re-cluster the posterior means of ``split`` (the training split)."""
        if not self.cluster_weight:
            return
        was_training = self.training
        self.eval()
        device = next(self.parameters()).device
        means = [self.posterior(b)[0].cpu() for b in split.batches(ENCODE_BATCH, device=device)]
        self.train(was_training)
        labels = geometric_pseudo_labels(
            torch.cat(means).double().numpy(), self.prior.symbols, self.cluster_dims, seed=epoch
        )
        self._clusters = (split, ClusterResampler(labels))

    def training_step(
        self, batch: dict[str, torch.Tensor], progress: float
    ) -> tuple[torch.Tensor, dict[str, float]]:
        loss, logs = super().training_step(batch, progress)
        if self._clusters is not None:
            split, resampler = self._clusters
            index = resampler.draw(batch["tokens"].size(0))
            mu, _ = self.posterior(split.batch(index, batch["tokens"].device))
            target = resampler.labels[index].to(mu.device)
            ce = F.cross_entropy(self.prior.symbol_logits(mu), target)
            loss = loss + self.cluster_weight * ce
            logs = {**logs, "cluster_ce": ce.item(), "loss": loss.item()}
        return loss, logs
