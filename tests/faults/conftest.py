"""Shared pieces of the fault-injection suite: a tiny text dataset, training configs, and the
CLI run as a user (and the workflow) runs it, in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from latentrepro.config import REPO_ROOT, load_params, train_config
from latentrepro.data.download import fetch_dataset
from latentrepro.data.registry import get_dataset
from latentrepro.data.tokenize import tokenize_dataset

OPTIONS = {"num_classes": 4, "train": 640, "valid": 64, "test": 64, "seed": 0}


@pytest.fixture(scope="session")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The processed synthetic_text corpus (640 training sentences)."""
    root = tmp_path_factory.mktemp("data")
    raw = fetch_dataset("synthetic_text", root / "raw", None, OPTIONS, progress=False)
    out = root / "processed" / "synthetic_text"
    tokenize_dataset(raw, out, get_dataset("synthetic_text"), vocab_size=400, max_length=16)
    return out


def config(epochs: int, **train: object) -> str:
    """The smoke profile's VAE on synthetic_text, ``epochs`` epochs of at most 5 batches."""
    overrides = {
        "profiles.smoke.train.epochs": epochs,
        "profiles.smoke.train.max_batches_per_epoch": 5,
        "datasets.synthetic_text.options": OPTIONS,
        **{f"profiles.smoke.train.{k}": v for k, v in train.items()},
    }
    params = load_params(REPO_ROOT / "params.yaml", overrides)
    return json.dumps(train_config(params, "synthetic_text", "vae"), sort_keys=True)


def cli_command(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "latentrepro.cli", *map(str, args)]


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """``latentrepro ARGS`` as the workflow runs it; progress lines come at once. No wall-clock
    limit (a loaded machine may take many times the idle time): pytest-timeout guards hangs."""
    env = {**os.environ, "LATENTREPRO_PROGRESS_SECONDS": "0"}
    return subprocess.run(cli_command(*args), capture_output=True, text=True, env=env)


def train_args(dataset: Path, out: Path, resume: Path, epochs: int) -> list[str | Path]:
    return [
        "train", "--config", config(epochs), "--data", dataset, "--seed", 0,
        "--out", out / "model.pt", "--history", out / "history.csv", "--resume", resume,
    ]  # fmt: skip


def leftovers(*folders: Path) -> list[str]:
    """Temporary files and staging folders a failed or killed write could have left."""
    return sorted(
        str(p)
        for folder in folders
        for pattern in ("*.tmp", "*.partial")
        for p in folder.rglob(pattern)
    )
