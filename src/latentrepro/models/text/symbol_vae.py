"""The text VAE with a symbol-coupled EBM prior (SVEBM, SVEBM-IB, LDEBM): the LSTM VAE of
:mod:`lstm_vae` (or, with arch options ``cell``/``bidirectional``/``tie_embeddings``/
``encoder_hidden_dim``/``init_state``, the recurrent modules of :mod:`rnn`) plus a separate
optimiser group for the energy network and, optionally, LDEBM's geometric clustering
regulariser (papers.md P1)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from latentrepro.data.batches import TokenSplit
from latentrepro.models.clustering import balanced_order, geometric_pseudo_labels
from latentrepro.models.priors import EBMPrior
from latentrepro.models.text.lstm_vae import TextVAE
from latentrepro.models.text.rnn import OPTIONS, build_rnn

#: Sentences encoded at once when the clustering pass encodes the training split.
ENCODE_BATCH = 512
#: How an epoch's batches are drawn once the training set is clustered.
CLUSTER_SAMPLING = ("balanced", "data")


class SymbolTextVAE(TextVAE):
    """``loss = rec + w * KL surrogate - w_MI * I(y; z) + w_cls * CE(p(y | z), pseudo-label)``.

    With ``cluster.weight`` > 0 the training posterior means are re-clustered at the start of
    every epoch (:func:`geometric_pseudo_labels`), the epoch's batches are drawn uniformly over
    the clusters (``cluster.sampling: balanced``; ``data``: shuffled as usual, which is what the
    authors' sampler does in effect, see :mod:`latentrepro.models.clustering`) and every batch's
    own pseudo-labels are the cross-entropy targets.

    A step at which the KL weight is 0 is an autoencoder step, as in both authors' scripts
    (yuPeiyu98/LDEBM @ 37ebc1f unsup_attr_discovery.py:762-812; bpucla/ibebm @ 315b645
    unconditional_gen.py:796-834): z is the posterior mean and the loss is the reconstruction
    alone (no information or clustering term, no EBM update).

    The final weights are kept (``keep_last_weights``): the objective departs from the ELBO on
    purpose (KL weight below one, the information and clustering terms), so the validation
    -ELBO does not rank its epochs; it picked the first epoch, before the symbols had formed.
    """

    keep_last_weights = True
    #: The prior must be symbol-coupled (a subclass may take any prior with its regulariser).
    requires_symbols = True

    def __init__(
        self,
        *parts: nn.Module,
        cluster_dims: int = 3,
        cluster_sampling: str = "balanced",
        uniform_init: float | None = None,
        target_label: str | None = None,
    ) -> None:
        super().__init__(*parts)
        coupled = isinstance(self.prior, EBMPrior) and self.prior.symbols
        if self.requires_symbols and not coupled:
            raise ValueError("prior.name: a symbol VAE needs a symbol-coupled prior (svebm, ldebm)")
        if cluster_sampling not in CLUSTER_SAMPLING:
            raise ValueError(
                f"regulariser.cluster.sampling: {cluster_sampling!r} is not one of {CLUSTER_SAMPLING}"
            )
        self.cluster_dims, self.cluster_sampling = cluster_dims, cluster_sampling
        self.target_label = target_label
        self._pseudo_labels: torch.Tensor | None = None
        if uniform_init is not None:
            # The authors' scripts draw every parameter from U(-0.1, 0.1) after construction
            # (unsup_attr_discovery.py:662-663; ibebm unconditional_gen.py:718-719).
            with torch.no_grad():
                for p in self.parameters():
                    p.uniform_(-uniform_init, uniform_init)

    @classmethod
    def from_config(cls, config: dict[str, Any], vocab_size: int) -> SymbolTextVAE:
        # LDEBM's plain LSTM modules keep their linear biases (the He et al. default drops them).
        base = TextVAE.from_config(
            {**config, "arch": {"linear_bias": True, **config["arch"]}}, vocab_size
        )
        encoder, decoder = base.encoder, base.decoder
        if any(key in config["arch"] for key in OPTIONS):
            encoder, decoder = build_rnn(config["arch"], vocab_size)
        cluster = config["model"]["regulariser"].get("cluster", {})
        return cls(
            encoder,
            decoder,
            base.prior,
            base.regulariser,
            cluster_dims=cluster.get("dims", 3),
            cluster_sampling=cluster.get("sampling", "balanced"),
            uniform_init=config["model"].get("uniform_init"),
            target_label=cluster.get("label"),
        )

    @property
    def clustered(self) -> bool:
        """Whether the symbols are fitted to k-means pseudo-labels (not to a data label)."""
        return getattr(self.regulariser, "cluster_weight", 0.0) > 0 and not self.target_label

    def optimizer_groups(self) -> dict[str, list[nn.Parameter]]:
        """The energy network trains with its own optimiser (``optimizers.ebm``); a prior
        without parameters leaves one group."""
        ebm = {id(p) for p in self.prior.parameters()}
        groups = {"model": [p for p in self.parameters() if id(p) not in ebm]}
        return {**groups, "ebm": list(self.prior.parameters())} if ebm else groups

    @torch.no_grad()
    def on_epoch_start(self, epoch: int, split: TokenSplit) -> None:
        """Re-cluster the posterior means of ``split`` (the training split); with a data label
        as the target, check that its values name symbols."""
        if self.target_label:
            check_label_values(split, self.target_label, self.prior.symbols)
        if not self.clustered:
            return
        was_training = self.training
        self.eval()
        device = next(self.parameters()).device
        means = [self.posterior(b)[0].cpu() for b in split.batches(ENCODE_BATCH, device=device)]
        self.train(was_training)
        labels = geometric_pseudo_labels(
            torch.cat(means).double().numpy(), self.prior.symbols, self.cluster_dims, seed=epoch
        )
        self._pseudo_labels = torch.as_tensor(labels, dtype=torch.long)

    def epoch_order(self, split: TokenSplit, generator: torch.Generator) -> torch.Tensor | None:
        """The epoch's indices drawn uniformly over the clusters (``balanced``), else None."""
        if self._pseudo_labels is None or self.cluster_sampling != "balanced":
            return None
        return balanced_order(self._pseudo_labels, generator)

    def batch_targets(self, batch: dict[str, torch.Tensor]) -> torch.Tensor | None:
        """The cross-entropy targets of the batch: its data label ``cluster.label`` (symbols
        trained with the labels, LDEBM's sentiment control: sent_control.py:521-530), else its
        pseudo-labels once the training set is clustered, else None."""
        if self.target_label:
            key = f"label_{self.target_label}"
            if key not in batch:
                raise ValueError(
                    f"regulariser.cluster.label: the data has no label {self.target_label!r}"
                )
            return batch[key]
        if self._pseudo_labels is None:
            return None
        return self._pseudo_labels[batch["index"].cpu()].to(batch["tokens"].device)

    def training_step(
        self, batch: dict[str, torch.Tensor], progress: float
    ) -> tuple[torch.Tensor, dict[str, float]]:
        mu, logvar = self.posterior(batch)
        if self.regulariser.schedule(progress) == 0:
            rec = -self.log_likelihood(batch["tokens"], mu)
            loss = rec.mean()
            return loss, {"loss": loss.item(), "rec": loss.item(), "kl_weight": 0.0}
        z = self.reparameterise(mu, logvar)
        rec = -self.log_likelihood(batch["tokens"], z)
        term, logs = self.regulariser(
            mu, logvar, z, self.prior, progress, self.batch_targets(batch)
        )
        loss = (rec + term).mean()
        return loss, {"loss": loss.item(), "rec": rec.mean().item(), **logs}


def check_label_values(split: TokenSplit, label: str, symbols: int) -> None:
    """The symbols trained with a data label are its values 0..K-1: a value outside that range
    would be an index error deep in the cross-entropy, so it is named here."""
    if label not in split.labels:
        raise ValueError(
            f"regulariser.cluster.label: the data has no label {label!r}; "
            f"its labels: {sorted(split.labels)}"
        )
    values = sorted(int(v) for v in split.labels[label].unique())
    outside = [v for v in values if not 0 <= v < symbols]
    if outside:
        raise ValueError(
            f"prior.symbols: {symbols} symbols are trained with label {label!r}, whose values "
            f"{values} include {outside}; set prior.symbols to at least {max(values) + 1}"
        )
