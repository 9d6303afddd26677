"""Our tokens of Li et al.'s Yelp against the ids LDEBM's authors trained on, sentence by sentence.

The authors tokenise the raw ``sentiment.*`` files with lowercased nltk ``word_tokenize`` and
store word ids (yuPeiyu98/LDEBM @ 37ebc1f ``workspace/data/yelp/preprocessed_data.py``; the ids
in ``workspace/data/yelp/processed_files/``, the words in its ``word_to_id.txt``). This decodes
their ids back to words and compares them with ``parse_yelp_sentiment``'s tokens of the raw
files of the same checkout, for the dev and test files (the training files are not in every
copy; they are compared too when present). It prints one row per file: sentences, sentences
whose tokens are equal, and the first differing pair. Run from the repository root:

    .venv/bin/python benchmarks/yelp_sentiment_tokens.py --ldebm PATH/TO/LDEBM
"""

from __future__ import annotations

import argparse
from pathlib import Path

from latentrepro.data.parsers import sentiment_tokens


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def compare(ldebm: Path) -> list[tuple[str, int, int, str]]:
    """Rows (file, sentences, equal, first difference) for every file present in both forms."""
    data = ldebm / "workspace" / "data" / "yelp"
    processed = data / "processed_files"
    words = [line.split("\t")[0] for line in _lines(processed / "word_to_id.txt")]
    rows = []
    for split in ("train", "dev", "test"):
        for label in (0, 1):
            name = f"sentiment.{split}.{label}"
            if not (data / name).is_file() or not (processed / name).is_file():
                continue
            ours = [sentiment_tokens(line) for line in _lines(data / name)]
            theirs = [[words[int(i)] for i in line.split()] for line in _lines(processed / name)]
            if len(ours) != len(theirs):
                raise SystemExit(f"{name}: {len(ours)} raw lines against {len(theirs)} id lines")
            differ = [(a, b) for a, b in zip(ours, theirs, strict=True) if a != b]
            first = f"{' '.join(differ[0][0])!r} / {' '.join(differ[0][1])!r}" if differ else ""
            rows.append((name, len(ours), len(ours) - len(differ), first))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ldebm", type=Path, required=True, help="a checkout of LDEBM")
    args = parser.parse_args()
    rows = compare(args.ldebm)
    print("| file | sentences | equal tokens | first difference (ours / theirs) |")
    print("|---|---|---|---|")
    for name, total, equal, first in rows:
        print(f"| {name} | {total} | {equal} | {first} |")


if __name__ == "__main__":
    main()
