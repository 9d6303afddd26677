"""Atomic file output: every artefact is written to a temporary sibling and renamed into place.

A killed job therefore leaves either the previous file or nothing, never half a file.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` only if the block succeeds."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as indented, key-sorted JSON atomically."""
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")


def read_json(path: str | os.PathLike[str]) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def save_torch(path: str | os.PathLike[str], obj: Any) -> None:
    """``torch.save`` atomically and byte-deterministically.

    Saving through a file handle keeps torch from naming the archive's inner folder after the
    (random) temporary file name, so equal objects give equal bytes.
    """
    import torch  # here, not at module level: the Snakefile imports this module's users

    with atomic_path(path) as tmp, tmp.open("wb") as handle:
        torch.save(obj, handle)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "item"):  # numpy scalars and one-element tensors
        return obj.item()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
