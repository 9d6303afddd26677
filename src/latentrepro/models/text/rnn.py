"""Recurrent encoder and decoder with the options of LDEBM's text models (papers.md P1): GRU or
LSTM cells, a bidirectional encoder (its own width), and a decoder whose output layer shares the
word embedding. With the defaults they compute what :class:`LSTMEncoder` / :class:`LSTMDecoder`
compute; the decoder keeps z at every step and in the initial state, which is ``tanh``
(c_0 = W z + b, h_0 = tanh(c_0); He et al. 2019) or ``linear`` (h_0 = W_h z + b_h,
c_0 = W_c z + b_c: the LDEBM and SVEBM DailyDialog scripts, yuPeiyu98/LDEBM @ 37ebc1f
unsup_attr_discovery.py:484-486, 543-544; ``linear_nobias``: the same without biases, their PTB
scripts' ``LinearConnector(has_bias=False)``, text_generation.py:149-153).

PTB in the paper: bidirectional GRU 512 encoder, GRU 512 decoder, embedding 512, tied output
embedding. DailyDialog: BiLSTM 1024 encoder, LSTM 512 decoder, embedding 512.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from latentrepro.models.text.lstm_vae import PAD, LSTMDecoder, LSTMEncoder

CELLS = {"lstm": nn.LSTM, "gru": nn.GRU}
#: Arch keys that select these modules instead of the plain LSTM ones.
OPTIONS = ("cell", "bidirectional", "tie_embeddings", "encoder_hidden_dim", "init_state")
#: Decoder initial states from z.
INIT_STATES = ("tanh", "linear", "linear_nobias")


def _cell(name: str) -> type[nn.RNNBase]:
    if name not in CELLS:
        raise ValueError(f"arch.cell: unknown cell {name!r}; known: {sorted(CELLS)}")
    return CELLS[name]


class RNNEncoder(LSTMEncoder):
    """q(z|x) from the last hidden state (both directions concatenated when bidirectional)."""

    def __init__(
        self,
        vocab_size: int,
        embed_dim: int,
        hidden_dim: int,
        latent_dim: int,
        cell: str = "lstm",
        bidirectional: bool = False,
    ) -> None:
        nn.Module.__init__(self)
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD)
        self.cell, self.bidirectional = cell, bidirectional
        self.rnn = _cell(cell)(embed_dim, hidden_dim, batch_first=True, bidirectional=bidirectional)
        self.to_stats = nn.Linear(hidden_dim * (2 if bidirectional else 1), 2 * latent_dim)

    def forward(
        self, tokens: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        packed = pack_padded_sequence(
            self.embed(tokens), lengths.cpu(), batch_first=True, enforce_sorted=False
        )
        _, state = self.rnn(packed)
        hidden = state[0] if self.cell == "lstm" else state
        last = torch.cat([hidden[-2], hidden[-1]], -1) if self.bidirectional else hidden[-1]
        mu, logvar = self.to_stats(last).chunk(2, dim=-1)
        return mu, logvar


class RNNDecoder(LSTMDecoder):
    """The decoder of :class:`LSTMDecoder` with a GRU option and tied output embeddings."""

    def __init__(
        self,
        vocab_size: int,
        embed_dim: int,
        hidden_dim: int,
        latent_dim: int,
        dropout: float = 0.0,
        cell: str = "lstm",
        tie_embeddings: bool = False,
        init_state: str = "tanh",
    ) -> None:
        super().__init__(vocab_size, embed_dim, hidden_dim, latent_dim, dropout, linear_bias=True)
        if init_state not in INIT_STATES:
            raise ValueError(f"arch.init_state: unknown {init_state!r}; known: {INIT_STATES}")
        self.cell, self.init_mode = cell, init_state
        self.lstm = _cell(cell)(embed_dim + latent_dim, hidden_dim, batch_first=True)
        if init_state != "tanh":
            bias = init_state == "linear"
            self.init_cell = nn.Linear(latent_dim, hidden_dim, bias=bias)
            if cell == "lstm":
                self.init_hidden = nn.Linear(latent_dim, hidden_dim, bias=bias)
        if tie_embeddings:
            if hidden_dim != embed_dim:
                raise ValueError(
                    f"arch.tie_embeddings: needs hidden_dim == embed_dim, got {hidden_dim} "
                    f"and {embed_dim}"
                )
            self.out.weight = self.embed.weight

    def initial_state(self, z: torch.Tensor) -> Any:
        cell = self.init_cell(z).unsqueeze(0)
        if self.init_mode == "tanh":
            return torch.tanh(cell) if self.cell == "gru" else (torch.tanh(cell), cell)
        return cell if self.cell == "gru" else (self.init_hidden(z).unsqueeze(0), cell)


def build_rnn(arch: dict[str, Any], vocab_size: int) -> tuple[RNNEncoder, RNNDecoder]:
    """Encoder and decoder of an arch section with any of :data:`OPTIONS`."""
    cell = arch.get("cell", "lstm")
    encoder = RNNEncoder(
        vocab_size, arch["embed_dim"], arch.get("encoder_hidden_dim", arch["hidden_dim"]),
        arch["latent_dim"], cell, arch.get("bidirectional", False),
    )  # fmt: skip
    decoder = RNNDecoder(
        vocab_size, arch["embed_dim"], arch["hidden_dim"], arch["latent_dim"],
        arch.get("dropout", 0.0), cell, arch.get("tie_embeddings", False),
        arch.get("init_state", "tanh"),
    )  # fmt: skip
    return encoder, decoder
