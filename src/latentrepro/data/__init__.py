"""Data layer: dataset registry, verified fetching, parsing, synthetic data and tokenisation.

Import the submodules (``latentrepro.data.registry``, ``.download``, ``.tokenize``, ...)
directly: this package imports nothing itself, so that reading the registry (which the
Snakefile does on every invocation) does not pay for importing torch.
"""
