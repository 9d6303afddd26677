"""Parity of :mod:`latentrepro.metrics.responses` with the LDEBM authors' dialogue evaluation.

On fixed random inputs (references drawn from a small vocabulary, hypotheses made from them by
random substitutions, deletions and insertions, some empty; random word vectors, with part of
the vocabulary left out of vocabulary), prints the authors' value, ours and their difference:

- BLEU: the authors' ``workspace/multi-bleu.perl`` run on a reference file and a hypothesis
  file as ``conditional_gen_DD.py``:1582-1595 runs it (it prints two decimals), against
  ``bleu_corpus``.
- Embedding average, extrema, greedy: ``Word2VecEvaluator.eval_from_file`` of
  ``workspace/conditional_gen_DD.py`` (which loads the vectors file and logs six decimals),
  against ``embedding_scores`` on the same file read by ``WordVectors.load``.

The authors' code is imported from the checkout given (yuPeiyu98/LDEBM @ 37ebc1f), never part
of this repository. ``conditional_gen_DD.py`` imports ``h5py``, ``faiss`` and ``torchvision`` at load time for
training only; when they are not installed, empty stand-ins are put on the path for the
import (in a temporary folder). Needs ``perl``. Run from the repository root:

    .venv/bin/python benchmarks/response_metrics_parity.py PATH/TO/LDEBM
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import random
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

import numpy as np
from gensim.models import KeyedVectors

from latentrepro.metrics.responses import response_scores
from latentrepro.metrics.word_vectors import WordVectors

#: (key, the authors' printed decimals): a difference within half their last digit plus
#: float32 rounding is agreement.
COMPARED = {
    "bleu_corpus": 2,
    "embedding_average": 6,
    "embedding_extrema": 6,
    "embedding_greedy": 6,
}
FLOAT32_SLACK = 2e-6


def make_inputs(
    seed: int, pairs: int, vocab: int, dim: int, oov: float
) -> tuple[list[list[str]], list[list[str]], WordVectors]:
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(vocab)]
    refs = [[rng.choice(words) for _ in range(rng.randint(0, 14))] for _ in range(pairs)]
    hyps = [_perturb(ref, words, rng) for ref in refs]
    in_vocab = [w for w in words if rng.random() >= oov]
    keyed = KeyedVectors(vector_size=dim)
    vectors = np.random.default_rng(seed).standard_normal((len(in_vocab), dim))
    keyed.add_vectors(in_vocab, vectors.astype(np.float32))
    return hyps, refs, WordVectors(keyed)


def _perturb(ref: list[str], words: list[str], rng: random.Random) -> list[str]:
    """Each word kept (70%), substituted (15%), dropped (10%) or followed by an extra (5%)."""
    out = []
    for word in ref:
        u = rng.random()
        if u < 0.7:
            out.append(word)
        elif u < 0.85:
            out.append(rng.choice(words))
        elif u >= 0.95:
            out.extend([word, rng.choice(words)])
    return out


#: Modules ``conditional_gen_DD.py`` imports for training only (directly, and through
#: ``modules/clustering.py``); empty stand-ins replace those that are not installed.
TRAINING_ONLY = ("h5py", "faiss", "torchvision.transforms")


def import_authors(workspace: Path, shims: Path) -> ModuleType:
    missing = [m for m in TRAINING_ONLY if importlib.util.find_spec(m.split(".")[0]) is None]
    for name in missing:
        *packages, module = name.split(".")
        folder = shims.joinpath(*packages)
        folder.mkdir(parents=True, exist_ok=True)
        for depth in range(len(packages)):
            shims.joinpath(*packages[: depth + 1], "__init__.py").touch()
        (folder / f"{module}.py").write_text("")
    if missing:
        print(f"empty stand-ins for {', '.join(missing)} (training-only imports)")
    sys.path[:0] = [str(shims), str(workspace)]
    return importlib.import_module("conditional_gen_DD")


class LogCapture:
    """Stands in for the authors' ``utils.logger`` module, keeping what ``info`` is given."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, line: str) -> None:
        self.lines.append(line)


def authors_embedding_scores(dd: ModuleType, vectors: Path, refs: Path, hyps: Path) -> dict:
    capture = LogCapture()
    dd.logger = capture
    dd.Word2VecEvaluator(str(vectors)).eval_from_file(str(refs), str(hyps))
    found = {}
    for line in capture.lines:
        name, value = re.match(r"(\w+): (\S+) \|", line).groups()
        found[f"embedding_{name.lower()}"] = float(value)
    return found


def authors_bleu(workspace: Path, refs: Path, hyps: Path) -> float:
    with hyps.open() as stdin:
        out = subprocess.run(
            ["perl", str(workspace / "multi-bleu.perl"), str(refs)],
            stdin=stdin,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    return float(re.match(r"BLEU = ([\d.]+),", out).group(1))


def write_lines(path: Path, sentences: list[list[str]]) -> Path:
    path.write_text("".join(" ".join(s) + "\n" for s in sentences))
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ldebm", type=Path, help="checkout of yuPeiyu98/LDEBM")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pairs", type=int, default=500)
    parser.add_argument("--vocab", type=int, default=40)
    parser.add_argument("--dim", type=int, default=16)
    parser.add_argument("--oov", type=float, default=0.2, help="fraction of words without vector")
    args = parser.parse_args()
    workspace = args.ldebm.resolve() / "workspace"
    hyps, refs, vectors = make_inputs(args.seed, args.pairs, args.vocab, args.dim, args.oov)

    with tempfile.TemporaryDirectory() as tmp:
        tmp_dir = Path(tmp)
        vectors.save(tmp_dir / "vectors.txt")
        ours = response_scores(hyps, refs, WordVectors.load(tmp_dir / "vectors.txt"))
        ref_file = write_lines(tmp_dir / "ref", refs)
        hyp_file = write_lines(tmp_dir / "hyp", hyps)
        dd = import_authors(workspace, tmp_dir)
        theirs = {"bleu_corpus": authors_bleu(workspace, ref_file, hyp_file)}
        theirs |= authors_embedding_scores(dd, tmp_dir / "vectors.txt", ref_file, hyp_file)

    print(
        f"{args.pairs} pairs, vocabulary {args.vocab} ({args.oov:.0%} without a vector), "
        f"dimension {args.dim}, seed {args.seed}; "
        f"{sum(map(len, hyps))} hypothesis tokens, {sum(not h for h in hyps)} empty"
    )
    print(f"{'score':<20}{'authors':>14}{'ours':>14}{'|difference|':>14}{'allowed':>11}")
    failed = False
    for key, decimals in COMPARED.items():
        allowed = 0.5 * 10**-decimals + FLOAT32_SLACK
        diff = abs(theirs[key] - ours[key])
        failed |= diff > allowed
        print(
            f"{key:<20}{theirs[key]:>14.{decimals}f}{ours[key]:>14.8f}{diff:>14.2e}{allowed:>11.1e}"
        )
    for key in ("distinct_1", "distinct_2", "embedding_coverage"):
        print(f"{key:<20}{'(not theirs)':>14}{ours[key]:>14.8f}")
    print("FAILED" if failed else "all compared scores agree")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
