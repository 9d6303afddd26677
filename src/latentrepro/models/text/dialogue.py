r"""The context-conditioned text VAE of LDEBM's response generation (Yu et al., ICML 2022,
Sec. 4.4), with a Gaussian, SVEBM-IB or LDEBM prior p(z | c) on the latent of a response x given
its context c (the previous turns):

.. math::

    \log p(x \mid c) \ge \mathbb{E}_{q(z \mid x, c)} \log p(x \mid z, c)
        - \mathrm{KL}(q(z \mid x, c) \,\|\, p(z \mid c)),

with :math:`p(z \mid c) \propto \exp f(z, c)\, \mathcal{N}(z; 0, I)` for the EBM priors (the
energy reads c, :mod:`latentrepro.models.priors.energy`) and :math:`\mathcal{N}(0, I)` for the
Gaussian one (the f = 0 case: c enters through the posterior and the decoder only).

The network follows the authors' (yuPeiyu98/LDEBM @ 37ebc1f ``conditional_gen_DD.py``:715-1035;
bpucla/ibebm @ 315b645 ``conditional_gen.py``:742-1045, the same network):

- context: every turn by a bidirectional GRU over its own word embedding, pooled by attention
  :math:`u = \sum_j \operatorname{softmax}_j(q^\top \tanh(K h_j))\, h_j`; the turns by a GRU,
  whose last state is c (:class:`ContextEncoder`);
- posterior: an LSTM over the response's embedding, its last state r, then
  :math:`h = \operatorname{relu}(W [r, c])`, :math:`\mu = W_\mu h`, :math:`\log\sigma^2 = W_\sigma h`;
- decoder: an LSTM whose input at every step is :math:`[e(w_{t-1}), z] + W_c c`, initial state
  :math:`h_0 = W_h z, c_0 = W_{c_0} z`, dropout on its input embeddings and its outputs.

Deliberate deviations (docs/ldebm.md, response-generation parity table): the authors run the
utterance GRU, its attention and the turn GRU over padding (an all-padding turn of a shorter
context is encoded and fed to the turn GRU, and the response LSTM's state is read at the padded
end), so an example's encoding depends on the longest turn and context in its batch. Here every
recurrence is packed to the real lengths and the attention is masked to the real words.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from latentrepro.models.priors import build_prior
from latentrepro.models.regularisers import build_regulariser, kl_divergence
from latentrepro.models.text.lstm_vae import PAD
from latentrepro.models.text.rnn import RNNDecoder
from latentrepro.models.text.symbol_vae import SymbolTextVAE


class ContextEncoder(nn.Module):
    """c ``[B, context_dim]`` from the turns ``[B, C, W]`` (ids, ``<pad>`` rows after the
    ``turns`` ``[B]`` real ones)."""

    def __init__(
        self, vocab_size: int, embed_dim: int, utterance_dim: int, context_dim: int
    ) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD)
        self.utterance = nn.GRU(embed_dim, utterance_dim, batch_first=True, bidirectional=True)
        self.key = nn.Linear(2 * utterance_dim, utterance_dim)
        self.query = nn.Linear(utterance_dim, 1)
        self.turns = nn.GRU(2 * utterance_dim, context_dim, batch_first=True)

    def encode_turns(self, tokens: torch.Tensor) -> torch.Tensor:
        """Attention-pooled states ``[R, 2 * utterance_dim]`` of turns ``[R, W]`` (each with at
        least ``<s>`` and ``</s>``)."""
        lengths = (tokens != PAD).sum(-1)
        packed = pack_padded_sequence(
            self.embed(tokens), lengths.cpu(), batch_first=True, enforce_sorted=False
        )
        states, _ = pad_packed_sequence(self.utterance(packed)[0], batch_first=True)
        scores = self.query(torch.tanh(self.key(states))).squeeze(-1)
        positions = torch.arange(states.size(1), device=tokens.device)
        scores = scores.masked_fill(positions >= lengths.unsqueeze(-1), float("-inf"))
        return (scores.softmax(-1).unsqueeze(-1) * states).sum(1)

    def forward(self, context: torch.Tensor, turns: torch.Tensor) -> torch.Tensor:
        b, c = context.shape[:2]
        real = torch.arange(c, device=context.device) < turns.unsqueeze(-1)  # [B, C]
        pooled = self.encode_turns(context[real])
        per_turn = pooled.new_zeros(b, c, pooled.size(-1)).masked_scatter(
            real.unsqueeze(-1), pooled
        )
        packed = pack_padded_sequence(per_turn, turns.cpu(), batch_first=True, enforce_sorted=False)
        _, last = self.turns(packed)
        return last[-1]


class DialogueEncoder(nn.Module):
    """q(z | x, c): the response LSTM's last state r and c, ``relu(W [r, c])``, then mu and
    log sigma^2; it owns the :class:`ContextEncoder` (c is computed once per batch)."""

    def __init__(
        self,
        vocab_size: int,
        embed_dim: int,
        hidden_dim: int,
        latent_dim: int,
        context: ContextEncoder,
        context_dim: int,
    ) -> None:
        super().__init__()
        self.context = context
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD)
        self.rnn = nn.LSTM(embed_dim, hidden_dim, batch_first=True)
        self.join = nn.Sequential(nn.Linear(hidden_dim + context_dim, hidden_dim), nn.ReLU())
        self.to_mu = nn.Linear(hidden_dim, latent_dim)
        self.to_logvar = nn.Linear(hidden_dim, latent_dim)

    def forward(
        self, tokens: torch.Tensor, lengths: torch.Tensor, c: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        packed = pack_padded_sequence(
            self.embed(tokens), lengths.cpu(), batch_first=True, enforce_sorted=False
        )
        _, (hidden, _) = self.rnn(packed)
        h = self.join(torch.cat([hidden[-1], c], dim=-1))
        return self.to_mu(h), self.to_logvar(h)


class ContextDecoder(RNNDecoder):
    """p(x | z, c). It takes ``[z, c]`` as its latent argument (``latent_dim + context_dim``
    columns), so that the decoder's likelihood and greedy decoding apply unchanged."""

    def __init__(
        self,
        vocab_size: int,
        embed_dim: int,
        hidden_dim: int,
        latent_dim: int,
        context_dim: int,
        dropout: float,
    ) -> None:
        super().__init__(
            vocab_size, embed_dim, hidden_dim, latent_dim, dropout, init_state="linear"
        )
        self.latent_dim = latent_dim
        self.context_in = nn.Linear(context_dim, embed_dim + latent_dim)

    def initial_state(self, zc: torch.Tensor) -> Any:
        return super().initial_state(zc[:, : self.latent_dim])

    def hidden_states(
        self,
        inputs: torch.Tensor,
        zc: torch.Tensor,
        state: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        z, c = zc[:, : self.latent_dim], zc[:, self.latent_dim :]
        if state is None:
            state = self.initial_state(zc)
        emb = self.dropout_in(self.embed(inputs))
        steps = torch.cat([emb, z.unsqueeze(1).expand(-1, emb.size(1), -1)], dim=-1)
        hidden, state = self.lstm(steps + self.context_in(c).unsqueeze(1), state)
        return self.dropout_out(hidden), state


class DialogueVAE(SymbolTextVAE):
    """A response VAE given the context: ``loss = rec + R(q(z | x, c), p(z | c))``, with R the
    prior's regulariser (``kl`` for the Gaussian prior; ``ebm`` with the information bottleneck
    and, for LDEBM, the clustering term as in :class:`SymbolTextVAE`, which supplies the
    re-clustering, the cluster-balanced epochs and the EBM's own optimiser group). The energy
    reads c detached (:meth:`Prior.given`), as both authors' ``ebm_prior`` does.
    """

    requires_symbols = False

    @classmethod
    def from_config(cls, config: dict[str, Any], vocab_size: int) -> DialogueVAE:
        """From a resolved training config; ``arch``: embed_dim, hidden_dim (also c's width, as
        the authors' ``ctx_encoding_dim = dec_h_dim``), utterance_dim, latent_dim, dropout."""
        arch, model = config["arch"], config["model"]
        embed, hidden, latent = arch["embed_dim"], arch["hidden_dim"], arch["latent_dim"]
        context = ContextEncoder(vocab_size, embed, arch["utterance_dim"], hidden)
        cluster = model["regulariser"].get("cluster", {})
        return cls(
            DialogueEncoder(vocab_size, embed, hidden, latent, context, hidden),
            ContextDecoder(vocab_size, embed, hidden, latent, hidden, arch.get("dropout", 0.0)),
            build_prior({**model["prior"], "context_dim": hidden}, latent),
            build_regulariser(model["regulariser"], latent),
            cluster_dims=cluster.get("dims", 3),
            cluster_sampling=cluster.get("sampling", "balanced"),
            uniform_init=model.get("uniform_init"),
        )

    def condition(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """c ``[B, hidden_dim]`` of the batch's contexts."""
        return self.encoder.context(batch["context"], batch["context_turns"])

    def posterior(
        self, batch: dict[str, torch.Tensor], c: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, logvar) of q(z | x, c); c is computed from the batch unless given."""
        c = self.condition(batch) if c is None else c
        return self.regulariser.transform_posterior(
            *self.encoder(batch["tokens"], batch["lengths"], c)
        )

    def log_likelihood(  # type: ignore[override]
        self, tokens: torch.Tensor, z: torch.Tensor, c: torch.Tensor
    ) -> torch.Tensor:
        """log p(x | z, c) per response ``[B]``."""
        return self.decoder.log_likelihood(tokens, torch.cat([z, c], dim=-1))

    def training_step(
        self, batch: dict[str, torch.Tensor], progress: float
    ) -> tuple[torch.Tensor, dict[str, float]]:
        c = self.condition(batch)
        mu, logvar = self.posterior(batch, c)
        if self.regulariser.schedule(progress) == 0:
            loss = -self.log_likelihood(batch["tokens"], mu, c).mean()
            return loss, {"loss": loss.item(), "rec": loss.item(), "kl_weight": 0.0}
        z = self.reparameterise(mu, logvar)
        rec = -self.log_likelihood(batch["tokens"], z, c)
        targets = self.batch_targets(batch)
        extra = () if targets is None else (targets,)
        with self.prior.given(c):
            term, logs = self.regulariser(mu, logvar, z, self.prior, progress, *extra)
        loss = (rec + term).mean()
        return loss, {"loss": loss.item(), "rec": rec.mean().item(), **logs}

    @torch.no_grad()
    def validation_step(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        """Sums of the reconstruction term at a posterior sample, and of the KL where the
        prior has a closed form (N(0, I)); NaN for the EBM priors, whose p(z | c) has a
        context-dependent normaliser that is not estimated."""
        c = self.condition(batch)
        mu, logvar = self.posterior(batch, c)
        z = self.reparameterise(mu, logvar)
        rec = -self.log_likelihood(batch["tokens"], z, c)
        if self.prior.standard_normal:
            kl = kl_divergence(mu, logvar, z, self.prior)
        else:
            kl = torch.full_like(rec, float("nan"))
        return {
            "loss": (rec + kl).sum().item(),
            "rec": rec.sum().item(),
            "kl": kl.sum().item(),
            "count": float(rec.numel()),
        }

    @torch.no_grad()
    def respond(
        self,
        batch: dict[str, torch.Tensor],
        max_length: int,
        generator: torch.Generator | None = None,
        c: torch.Tensor | None = None,
    ) -> list[list[int]]:
        """One greedy response per context of ``batch``, z ~ p(z | c) (the authors' ``eval``,
        conditional_gen_DD.py:1490-1500: a prior sample given c, then argmax decoding); c is
        computed from the batch unless given."""
        c = self.condition(batch) if c is None else c
        with self.prior.given(c):
            z = self.prior.sample(c.size(0), generator=generator)
        return self.decoder.generate(torch.cat([z.to(c.dtype), c], dim=-1), max_length)
