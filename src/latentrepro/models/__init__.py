"""Models are compositions: a backbone (text LSTM VAE, image EBM) x a prior x a regulariser."""
