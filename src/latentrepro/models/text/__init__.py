"""Text backbones: sentence encoders and autoregressive decoders."""

from latentrepro.models.text.lstm_vae import LSTMDecoder, LSTMEncoder, TextVAE

__all__ = ["LSTMDecoder", "LSTMEncoder", "TextVAE"]
