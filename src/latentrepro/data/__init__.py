"""Data layer: dataset registry, verified fetching, parsing, synthetic data and tokenisation."""

from latentrepro.data.download import (
    ChecksumError,
    DataError,
    DataUnavailableError,
    fetch_dataset,
    sha256_file,
)
from latentrepro.data.parsers import ArraySplit, Split
from latentrepro.data.registry import REGISTRY, DatasetSpec, RemoteFile, get_dataset
from latentrepro.data.tokenize import Vocab, numericalise, prepare_arrays, tokenize_dataset

__all__ = [
    "REGISTRY",
    "ArraySplit",
    "ChecksumError",
    "DataError",
    "DataUnavailableError",
    "DatasetSpec",
    "RemoteFile",
    "Split",
    "Vocab",
    "fetch_dataset",
    "get_dataset",
    "numericalise",
    "prepare_arrays",
    "sha256_file",
    "tokenize_dataset",
]
