"""The Gaussian LSTM text VAE of He et al. (ICLR 2019), the backbone DG-VAE and its baselines share.

Encoder: one-layer LSTM over the sentence; its last hidden state -> linear -> (mu, log sigma^2).
Decoder: one-layer LSTM whose input at every step is the word embedding concatenated with z,
with initial state c_0 = W z, h_0 = tanh(c_0); dropout on its input embeddings and on its
outputs; a linear output layer over the vocabulary. The prior and the latent regulariser are
pluggable (see models/priors, regularisers).

As in He et al.'s code (vae-lagging-encoder @ cdc4eb9), the three linear maps have no bias:
the encoder's ``nn.Linear(enc_nh, 2 * nz, bias=False)`` (modules/encoders/enc_lstm.py:27), the
decoder's ``trans_linear = nn.Linear(nz, dec_nh, bias=False)`` (modules/decoders/dec_lstm.py:34)
and ``pred_linear = nn.Linear(dec_nh, len(vocab), bias=False)`` (dec_lstm.py:43); both LSTMs
keep PyTorch's default biases (enc_lstm.py:20-24, dec_lstm.py:37-40). DG-VAE's code has the
same layers (DG-VAEs @ 6ad9e59 modules/encoders/encoder.py:88, modules/decoders/decoder.py:123,
132). ``arch.linear_bias: true`` adds the biases back (the network before issue 15).

Sentences are ``<s> w_1 .. w_n </s>`` (length n + 2); the likelihood covers w_1 .. w_n and
``</s>``, i.e. n + 1 tokens, which is also what perplexity divides by.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from latentrepro.models.priors import Prior, build_prior
from latentrepro.models.regularisers import build_regulariser, kl_divergence

PAD, BOS, EOS = 0, 1, 2
NEVER_EMITTED = torch.tensor([PAD, BOS])
#: Rows of output logits made at once on the CPU (:meth:`LSTMDecoder.token_nll`).
OUTPUT_BLOCK = 512


class LSTMEncoder(nn.Module):
    """q(z|x) = N(mu(x), diag exp(logvar(x)))."""

    def __init__(
        self,
        vocab_size: int,
        embed_dim: int,
        hidden_dim: int,
        latent_dim: int,
        linear_bias: bool = False,
    ) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD)
        self.lstm = nn.LSTM(embed_dim, hidden_dim, batch_first=True)
        self.to_stats = nn.Linear(hidden_dim, 2 * latent_dim, bias=linear_bias)

    def forward(
        self, tokens: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        packed = pack_padded_sequence(
            self.embed(tokens), lengths.cpu(), batch_first=True, enforce_sorted=False
        )
        _, (hidden, _) = self.lstm(packed)
        mu, logvar = self.to_stats(hidden[-1]).chunk(2, dim=-1)
        return mu, logvar


class LSTMDecoder(nn.Module):
    """p(x|z) = prod_t p(w_t | w_<t, z), z fed at every step and into the initial state."""

    def __init__(
        self,
        vocab_size: int,
        embed_dim: int,
        hidden_dim: int,
        latent_dim: int,
        dropout: float = 0.0,
        linear_bias: bool = False,
    ) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD)
        self.init_cell = nn.Linear(latent_dim, hidden_dim, bias=linear_bias)
        self.lstm = nn.LSTM(embed_dim + latent_dim, hidden_dim, batch_first=True)
        self.dropout_in = nn.Dropout(dropout)
        self.dropout_out = nn.Dropout(dropout)
        self.out = nn.Linear(hidden_dim, vocab_size, bias=linear_bias)

    def initial_state(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        cell = self.init_cell(z).unsqueeze(0)
        return torch.tanh(cell), cell

    def hidden_states(
        self,
        inputs: torch.Tensor,
        z: torch.Tensor,
        state: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """The LSTM's outputs [N, T, H] after output dropout, given ``inputs`` [N, T]."""
        if state is None:
            state = self.initial_state(z)
        emb = self.dropout_in(self.embed(inputs))
        steps = torch.cat([emb, z.unsqueeze(1).expand(-1, emb.size(1), -1)], dim=-1)
        hidden, state = self.lstm(steps, state)
        return self.dropout_out(hidden), state

    def forward(
        self,
        inputs: torch.Tensor,
        z: torch.Tensor,
        state: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """Logits [N, T, V] for next tokens given ``inputs`` [N, T] and ``z`` [N, D]."""
        hidden, state = self.hidden_states(inputs, z, state)
        return self.out(hidden), state

    def log_likelihood(self, tokens: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """log p(x|z) per sentence [N]: the sum over target tokens (padding excluded).

        Masked: the output layer and the softmax, most of the decoder's cost, run on the
        non-padding positions only (the LSTM still steps over the padding of shorter rows); a
        batch without padding, as most bucketed batches are, skips the gather and scatter."""
        hidden, _ = self.hidden_states(tokens[:, :-1], z)
        targets = tokens[:, 1:]
        keep = targets != PAD
        if bool(keep.all()):
            nll = self.token_nll(hidden.flatten(0, 1), targets.flatten())
            return -nll.view_as(targets).sum(dim=1)
        nll = self.token_nll(hidden[keep], targets[keep])
        return (
            -torch.zeros(targets.shape, dtype=nll.dtype, device=nll.device)
            .masked_scatter(keep, nll)
            .sum(dim=1)
        )

    def token_nll(self, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """-log p(target | hidden) for rows of hidden states [M, H] and targets [M].

        On the CPU the [M, V] logits are made and reduced :data:`OUTPUT_BLOCK` rows at a time,
        so that each block's logits are still in cache when the softmax reads them: with V =
        10,000 and H = 256 on one thread, 1.5x faster than one [M, V] pass for M in the
        thousands (IW-NLL's k x B x T rows), the same for a training batch's few hundred. The
        values are those of one pass (each row's reduction is the same)."""
        if hidden.device.type != "cpu" or hidden.size(0) <= OUTPUT_BLOCK:
            return F.cross_entropy(self.out(hidden), targets, reduction="none")
        blocks = zip(hidden.split(OUTPUT_BLOCK), targets.split(OUTPUT_BLOCK), strict=True)
        return torch.cat([F.cross_entropy(self.out(h), t, reduction="none") for h, t in blocks])

    @torch.no_grad()
    def generate(
        self,
        z: torch.Tensor,
        max_length: int,
        greedy: bool = True,
        generator: torch.Generator | None = None,
    ) -> list[list[int]]:
        """Decode one sentence per row of ``z``; returns word ids without ``<s>``/``</s>``.

        ``<pad>`` and ``<s>`` are never emitted: neither is ever a training target, so their
        logits carry no learned probability (an untrained decoder would otherwise emit them)."""
        n = z.size(0)
        token = torch.full((n, 1), BOS, dtype=torch.long, device=z.device)
        state = self.initial_state(z)
        out = torch.empty(n, 0, dtype=torch.long, device=z.device)
        done = torch.zeros(n, dtype=torch.bool, device=z.device)
        never_emitted = NEVER_EMITTED.to(z.device)
        for _ in range(max_length + 1):
            logits, state = self(token, z, state)
            logits = logits[:, -1].index_fill(-1, never_emitted, -math.inf)
            if greedy:
                token = logits.argmax(dim=-1, keepdim=True)
            else:
                token = torch.multinomial(logits.softmax(-1), 1, generator=generator)
            out = torch.cat([out, token], dim=1)
            done |= token.squeeze(1) == EOS
            if done.all():
                break
        sentences = []
        for row in out.tolist():
            sentences.append(row[: row.index(EOS)] if EOS in row else row)
        return sentences


class TextVAE(nn.Module):
    """Encoder x decoder x prior x regulariser; the training objective is

    loss = mean_x [ -log p(x|z) + R(q(z|x), p(z); progress) ],  z ~ q(z|x) reparameterised,

    with R the regulariser (weighted KL for the plain and annealed VAE).
    """

    def __init__(
        self, encoder: LSTMEncoder, decoder: LSTMDecoder, prior: Prior, regulariser: nn.Module
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.prior = prior
        self.regulariser = regulariser

    @classmethod
    def from_config(cls, config: dict[str, Any], vocab_size: int) -> TextVAE:
        """Build from a resolved training config (see :func:`latentrepro.config.train_config`)."""
        arch, model = config["arch"], config["model"]
        latent, bias = arch["latent_dim"], arch.get("linear_bias", False)
        return cls(
            LSTMEncoder(vocab_size, arch["embed_dim"], arch["hidden_dim"], latent, bias),
            LSTMDecoder(
                vocab_size,
                arch["embed_dim"],
                arch["hidden_dim"],
                latent,
                arch.get("dropout", 0.0),
                bias,
            ),
            build_prior(model["prior"], latent),
            build_regulariser(model["regulariser"], latent),
        )

    def posterior(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, logvar) of q(z|x), after the regulariser's posterior constraint (BN, delta)."""
        return self.regulariser.transform_posterior(
            *self.encoder(batch["tokens"], batch["lengths"])
        )

    @staticmethod
    def reparameterise(
        mu: torch.Tensor, logvar: torch.Tensor, samples: int | None = None
    ) -> torch.Tensor:
        """z = mu + sigma * eps; shape [B, D], or [samples, B, D] when ``samples`` is given."""
        shape = mu.shape if samples is None else (samples, *mu.shape)
        eps = torch.randn(shape, dtype=mu.dtype, device=mu.device)
        return mu + (0.5 * logvar).exp() * eps

    def log_likelihood(self, tokens: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """log p(x|z) for z of shape [B, D] (returns [B]) or [k, B, D] (returns [k, B])."""
        if z.dim() == 2:
            return self.decoder.log_likelihood(tokens, z)
        k, b, d = z.shape
        expanded = tokens.unsqueeze(0).expand(k, -1, -1).reshape(k * b, -1)
        return self.decoder.log_likelihood(expanded, z.reshape(k * b, d)).view(k, b)

    def training_step(
        self, batch: dict[str, torch.Tensor], progress: float
    ) -> tuple[torch.Tensor, dict[str, float]]:
        mu, logvar = self.posterior(batch)
        z = self.reparameterise(mu, logvar)
        rec = -self.log_likelihood(batch["tokens"], z)
        latent_term, logs = self.regulariser(mu, logvar, z, self.prior, progress)
        loss = (rec + latent_term).mean()
        return loss, {"loss": loss.item(), "rec": rec.mean().item(), **logs}

    @torch.no_grad()
    def validation_step(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        """Sums over the batch of the negative ELBO (full KL weight) and its parts; KL and the
        ELBO are NaN under a prior without a trustworthy ``log_prob`` (``reports_likelihood``)."""
        mu, logvar = self.posterior(batch)
        z = self.reparameterise(mu, logvar)
        rec = -self.log_likelihood(batch["tokens"], z)
        if self.prior.reports_likelihood:
            kl = kl_divergence(mu, logvar, z, self.prior)
        else:
            kl = torch.full_like(rec, math.nan)
        return {
            "loss": (rec + kl).sum().item(),
            "rec": rec.sum().item(),
            "kl": kl.sum().item(),
            "count": float(rec.numel()),
        }
