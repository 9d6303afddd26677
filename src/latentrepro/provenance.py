"""Provenance recorded with every reported number: git revision, config hash, data checksums."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

from latentrepro.config import REPO_ROOT


def git_revision(cwd: Path = REPO_ROOT) -> str:
    """``HEAD``'s commit id, suffixed ``-dirty`` when tracked files differ; ``unknown`` outside git."""
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{rev}-dirty" if dirty else rev


def dataset_checksums(manifest_path: Path) -> dict[str, Any]:
    """The per-file sha256 of a downloaded dataset and one digest over all of them."""
    manifest = json.loads(Path(manifest_path).read_text(encoding="utf-8"))
    files = {path: entry["sha256"] for path, entry in sorted(manifest["files"].items())}
    digest = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()
    return {"dataset": manifest["dataset"], "sha256": digest, "files": files}
