"""The text VAE's weights are He et al.'s network, layer for layer.

Expected shapes are written out from vae-lagging-encoder @ cdc4eb9 for the PTB configuration
(ni = 256, enc_nh = dec_nh = 256, nz = 32, |V| = 10,000): the encoder's embedding, LSTM and
``nn.Linear(enc_nh, 2 * nz, bias=False)`` (modules/encoders/enc_lstm.py:18-27), the decoder's
embedding, ``trans_linear = nn.Linear(nz, dec_nh, bias=False)``, LSTM over [embedding; z] and
``pred_linear = nn.Linear(dec_nh, |V|, bias=False)`` (modules/decoders/dec_lstm.py:28-43). The
LSTMs keep PyTorch's two bias vectors per layer.
"""

import torch

from latentrepro.models.text import TextVAE
from latentrepro.models.text.rnn import OPTIONS
from latentrepro.models.text.symbol_vae import SymbolTextVAE
from tests.unit.test_symbol_vae import VOCAB as SYMBOL_VOCAB
from tests.unit.test_symbol_vae import config as symbol_config

V, NI, NH, NZ = 10_000, 256, 256, 32

# Their parameter name -> (ours, shape).
HE_ET_AL = {
    "encoder.embed.weight": ("encoder.embed.weight", (V, NI)),
    "encoder.lstm.weight_ih_l0": ("encoder.lstm.weight_ih_l0", (4 * NH, NI)),
    "encoder.lstm.weight_hh_l0": ("encoder.lstm.weight_hh_l0", (4 * NH, NH)),
    "encoder.lstm.bias_ih_l0": ("encoder.lstm.bias_ih_l0", (4 * NH,)),
    "encoder.lstm.bias_hh_l0": ("encoder.lstm.bias_hh_l0", (4 * NH,)),
    "encoder.linear.weight": ("encoder.to_stats.weight", (2 * NZ, NH)),
    "decoder.embed.weight": ("decoder.embed.weight", (V, NI)),
    "decoder.trans_linear.weight": ("decoder.init_cell.weight", (NH, NZ)),
    "decoder.lstm.weight_ih_l0": ("decoder.lstm.weight_ih_l0", (4 * NH, NI + NZ)),
    "decoder.lstm.weight_hh_l0": ("decoder.lstm.weight_hh_l0", (4 * NH, NH)),
    "decoder.lstm.bias_ih_l0": ("decoder.lstm.bias_ih_l0", (4 * NH,)),
    "decoder.lstm.bias_hh_l0": ("decoder.lstm.bias_hh_l0", (4 * NH,)),
    "decoder.pred_linear.weight": ("decoder.out.weight", (V, NH)),
}


def ptb_config(model="vae", **arch):
    regulariser = {"name": "kl", "schedule": {"name": "constant"}}
    if model == "dg_vae":
        regulariser = {"name": "density_gap", "batch_chunk": 32, "samples": 32}
    return {
        "arch": {"embed_dim": NI, "hidden_dim": NH, "latent_dim": NZ, "dropout": 0.5, **arch},
        "model": {"prior": {"name": "gaussian"}, "regulariser": regulariser},
    }


def shapes(model):
    return {name: tuple(value.shape) for name, value in model.state_dict().items()}


def test_the_vae_and_dg_vae_have_exactly_he_et_al_s_weights():
    expected = dict(HE_ET_AL.values())
    for model in ("vae", "dg_vae"):
        assert shapes(TextVAE.from_config(ptb_config(model), V)) == expected, model
    assert sum(torch.Size(s).numel() for s in expected.values()) == (
        2 * V * NI + 4 * NH * (NI + NH + 2) + 2 * NZ * NH + NH * NZ
        + 4 * NH * (NI + NZ + NH + 2) + V * NH
    )  # fmt: skip


def test_linear_bias_brings_back_the_three_biases():
    extra = shapes(TextVAE.from_config(ptb_config(linear_bias=True), V)).items() - set(
        dict(HE_ET_AL.values()).items()
    )
    assert dict(extra) == {
        "encoder.to_stats.bias": (2 * NZ,),
        "decoder.init_cell.bias": (NH,),
        "decoder.out.bias": (V,),
    }


def test_ldebm_s_plain_lstm_modules_keep_their_biases():
    cfg = symbol_config()
    assert not set(OPTIONS) & set(cfg["arch"])  # the plain LSTM modules, not build_rnn's
    assert "decoder.out.bias" in shapes(SymbolTextVAE.from_config(cfg, SYMBOL_VOCAB))
