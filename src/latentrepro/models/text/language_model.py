"""The LSTM language model that reverse perplexity (:mod:`latentrepro.evaluation.rppl`) trains
on generated sentences: word embedding -> one-layer LSTM -> linear -> softmax, dropout on the
embeddings and the LSTM outputs (the DGM-VAE protocol; Shi et al., ICML 2020).

It plugs into the shared training loop (:func:`latentrepro.train.fit`): ``training_step``
returns the mean NLL per token of the batch, ``validation_step`` the summed NLL and the token
count, so the loop's validation loss is the NLL per token and its best epoch the one of lowest
validation perplexity.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from latentrepro.data.batches import TokenSplit
from latentrepro.models.text.lstm_vae import BOS, EOS, PAD


class LSTMLanguageModel(nn.Module):
    """A one-layer LSTM language model over a vocabulary of ``vocab_size`` ids."""

    def __init__(
        self, vocab_size: int, embed_dim: int, hidden_dim: int, dropout: float = 0.0
    ) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD)
        self.lstm = nn.LSTM(embed_dim, hidden_dim, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden_dim, vocab_size)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Next-token logits [N, T, V] for ``inputs`` [N, T]."""
        hidden, _ = self.lstm(self.dropout(self.embed(inputs)))
        return self.out(self.dropout(hidden))

    def token_nll(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The summed NLL (nats) of the targets ``tokens[:, 1:]`` that are not padding, and
        their number."""
        targets = tokens[:, 1:]
        logits = self(tokens[:, :-1])
        nll = F.cross_entropy(
            logits.reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=PAD,
            reduction="sum",
        )  # fmt: skip
        return nll, (targets != PAD).sum()

    def training_step(
        self, batch: dict[str, torch.Tensor], progress: float
    ) -> tuple[torch.Tensor, dict[str, float]]:
        nll, count = self.token_nll(batch["tokens"])
        loss = nll / count
        return loss, {"loss": loss.item()}

    @torch.no_grad()
    def validation_step(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        """Sums over the batch: NLL (``loss``) and predicted tokens (``count``)."""
        nll, count = self.token_nll(batch["tokens"])
        return {"loss": nll.item(), "count": float(count)}


def sentences_to_split(sentences: Sequence[Sequence[int]]) -> TokenSplit:
    """Word-id sentences (no ``<s>``/``</s>``) as ``<s> w_1 .. w_n </s>`` rows padded with
    ``PAD``, lengths n + 2, no labels."""
    if not sentences:
        raise ValueError("sentences_to_split: no sentences")
    lengths = torch.tensor([len(s) + 2 for s in sentences])
    tokens = torch.full((len(sentences), int(lengths.max())), PAD, dtype=torch.long)
    for row, sentence in enumerate(sentences):
        tokens[row, : len(sentence) + 2] = torch.tensor([BOS, *sentence, EOS], dtype=torch.long)
    return TokenSplit(tokens, lengths, {})
