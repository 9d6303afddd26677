"""The sentence classifier that scores LDEBM's sentiment control (the ``text_classifier`` family).

LDEBM's sentiment-control table (papers.md P1, Yelp) reports the accuracy, under a pretrained
classifier, of the label each generated sentence was asked for. The authors' classifier is
``Classifier`` of yuPeiyu98/LDEBM @ 37ebc1f ``workspace/sent_control.py:71-160``; its checkpoint
(``ckpts/yelp/pretrained/cls.pt``) is not released, so the workflow trains its own, on the same
data and independently of the generator. Its network is theirs:

    e_t = Dropout(E w_t)                                  word embedding, <pad> row zero
    h   = [h_fwd(n) ; h_bwd(1)]                           last states of a bidirectional GRU
    u   = W_u h + b_u                                     (their ``q_y_mean``, to latent_size)
    logits = W_3 GELU(W_2 GELU(W_1 u + b_1) + b_2) + b_3  (their ``ebm`` MLP, ebm_hidden wide)

trained with the cross-entropy -log softmax(logits)_y of the label y. Their settings (the
script's argparse defaults): embedding 512, GRU 512 per direction, latent_size 40, ebm_hidden
200, dropout 0.3 on the embeddings (``EncoderRNN``'s ``input_dropout_p``; the GRU's own
dropout does nothing with one layer), every parameter drawn from U(-0.1, 0.1)
(``sent_control.py``, main, before ``train_cls``), Adam at init_lr 1e-3 without clipping,
batch 128, cls_max_epoch x cls_eval_step = 2 x 4,000 updates on the train and dev files of
Shen et al.'s Yelp, tested on its test files.

Deviations, each deliberate:

- Padding is masked: the sentences are packed by length, so the forward state is read at the
  last word and the backward one starts there. The authors' ``EncoderRNN`` runs over the
  padding (``variable_lengths = fix_batch = False``), so their logits of a sentence depend on
  the longest sentence of its batch.
- The model reads the words only, as theirs does (their encoder input has no ``<s>``/``</s>``);
  the workflow's splits frame each sentence with both, which :meth:`TextClassifier.inputs`
  removes. An empty sentence is read as one ``<pad>`` token (a packed sequence needs one step).
- It trains on the train split and keeps the best-validation epoch (the shared loop), and is
  scored on the held-out test split; the authors train on train + dev and print test accuracy.
- The released ``train_cls`` unpacks two values from ``Classifier.forward``, which returns four,
  so it cannot have produced their checkpoint as shipped; nothing else of their training is
  known.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from latentrepro.models.text.lstm_vae import PAD
from latentrepro.models.text.rnn import _cell

Batch = dict[str, torch.Tensor]


class TextClassifier(nn.Module):
    """Cross-entropy classifier of the label ``label`` (e.g. ``sentiment``) of a text dataset,
    trained by :func:`latentrepro.train.fit` (see the module docstring for the network)."""

    def __init__(
        self,
        vocab_size: int,
        num_classes: int,
        label: str,
        arch: dict[str, Any],
        uniform_init: float | None = None,
    ) -> None:
        super().__init__()
        self.label, self.num_classes = label, num_classes
        self.cell = arch.get("cell", "gru")
        self.bidirectional = arch.get("bidirectional", True)
        hidden, projection, head = arch["hidden_dim"], arch["projection_dim"], arch["head_hidden"]
        self.embed = nn.Embedding(vocab_size, arch["embed_dim"], padding_idx=PAD)
        self.dropout = nn.Dropout(arch.get("dropout", 0.0))
        self.rnn = _cell(self.cell)(
            arch["embed_dim"], hidden, batch_first=True, bidirectional=self.bidirectional
        )
        self.project = nn.Linear(hidden * (2 if self.bidirectional else 1), projection)
        self.head = nn.Sequential(
            nn.Linear(projection, head),
            nn.GELU(),
            nn.Linear(head, head),
            nn.GELU(),
            nn.Linear(head, num_classes),
        )
        if uniform_init is not None:
            # The authors draw every parameter from U(-0.1, 0.1), the embedding's <pad> row
            # included (sent_control.py, main: ``param.data.uniform_(-0.1, 0.1)``).
            with torch.no_grad():
                for p in self.parameters():
                    p.uniform_(-uniform_init, uniform_init)

    @classmethod
    def from_config(
        cls, config: dict[str, Any], vocab_size: int, num_classes: int
    ) -> TextClassifier:
        """The classifier of a resolved training config (``arch``: its network and label)."""
        arch = config["arch"]
        return cls(
            vocab_size, num_classes, arch["label"], arch, config["model"].get("uniform_init")
        )

    def forward(self, words: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Logits [B, num_classes] of sentences given as word ids ``words`` [B, L] (no ``<s>``
        or ``</s>``; whatever lies past a row's length is never read) with ``lengths`` [B]
        words each."""
        steps = lengths.clamp(min=1)
        packed = pack_padded_sequence(
            self.dropout(self.embed(words)), steps.cpu(), batch_first=True, enforce_sorted=False
        )
        _, state = self.rnn(packed)
        hidden = state[0] if self.cell == "lstm" else state
        last = torch.cat([hidden[-2], hidden[-1]], -1) if self.bidirectional else hidden[-1]
        return self.head(self.project(last))

    @torch.no_grad()
    def predict(self, words: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The predicted label values [B] (argmax of the logits, in eval mode) of sentences
        given as :meth:`forward` takes them: word ids of the training vocabulary, as the text
        decoders' ``generate`` returns them, padded to one width."""
        was_training = self.training
        self.eval()
        labels = self(words, lengths).argmax(-1)
        self.train(was_training)
        return labels

    @staticmethod
    def inputs(batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """(words, lengths) of a split's batch, whose rows are ``<s>`` w_1 .. w_n ``</s>``:
        the words, with ``</s>`` and everything after it as ``<pad>``."""
        words, lengths = batch["tokens"][:, 1:], batch["lengths"] - 2
        past = torch.arange(words.size(1), device=words.device) >= lengths[:, None]
        return words.masked_fill(past, PAD), lengths

    def targets(self, batch: Batch) -> torch.Tensor:
        """The values of the classifier's label in a split's batch."""
        key = f"label_{self.label}"
        if key not in batch:
            raise ValueError(f"arch.label: the data has no label {self.label!r}")
        return batch[key]

    def training_step(self, batch: Batch, progress: float) -> tuple[torch.Tensor, dict[str, float]]:
        logits = self(*self.inputs(batch))
        targets = self.targets(batch)
        loss = F.cross_entropy(logits, targets)
        error = (logits.argmax(1) != targets).float().mean()
        return loss, {"loss": loss.item(), "error": error.item()}

    @torch.no_grad()
    def validation_step(self, batch: Batch) -> dict[str, float]:
        logits = self(*self.inputs(batch))
        targets = self.targets(batch)
        return {
            "loss": F.cross_entropy(logits, targets, reduction="sum").item(),
            "error": (logits.argmax(1) != targets).sum().item(),
            "count": targets.size(0),
        }
