"""fetch_dataset: mirror copies, downloads of (nested) archives, checksums, atomicity, errors."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from typing import Any, ClassVar

import pytest

from latentrepro.data import download
from latentrepro.data.download import (
    ChecksumError,
    DataError,
    DataUnavailableError,
    fetch_dataset,
)
from latentrepro.data.parsers import parse_dailydialog, parse_smd
from latentrepro.data.registry import REGISTRY, DatasetSpec, RemoteFile, get_dataset

MIRROR = Path(__file__).resolve().parents[2].parent / "shared" / "data"
needs_mirror = pytest.mark.skipif(
    not MIRROR.is_dir(), reason=f"shared data mirror not present at {MIRROR}"
)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def manifest(root: Path, name: str) -> dict[str, Any]:
    return json.loads((root / name / "manifest.json").read_text())


def leftovers(directory: Path) -> list[str]:
    """Temporary files or staging directories a failed fetch could have left behind."""
    return sorted(p.name for pattern in ("*.tmp", "*.partial") for p in directory.rglob(pattern))


def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise urllib.error.URLError("network is unreachable (test)")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


def ptb_mirror(tmp_path: Path, valid: bytes) -> Path:
    """A mirror linking the real PTB train/test and holding ``valid`` as ptb.valid.txt."""
    mirror = tmp_path / "mirror"
    (mirror / "ptb").mkdir(parents=True)
    for name in ("ptb.train.txt.gz", "ptb.test.txt"):
        (mirror / "ptb" / name).symlink_to(MIRROR / "ptb" / name)
    (mirror / "ptb" / "ptb.valid.txt").write_bytes(valid)
    return mirror


@needs_mirror
def test_ptb_from_the_mirror(tmp_path: Path) -> None:
    dest = fetch_dataset("ptb", tmp_path, MIRROR, progress=False)
    lines = {
        split: (dest / f"ptb.{split}.txt").read_text().count("\n")
        for split in ("train", "valid", "test")
    }
    assert lines == {"train": 42068, "valid": 3370, "test": 3761}
    record = manifest(tmp_path, "ptb")
    assert record["dataset"] == "ptb" and record["license"] and record["homepage"]
    assert record["files"]["ptb.train.txt"]["source"] == "mirror:ptb/ptb.train.txt.gz"
    assert record["files"]["ptb.valid.txt"]["source"] == "mirror:ptb/ptb.valid.txt"
    for file in get_dataset("ptb").files:
        entry = record["files"][file.path]
        assert entry["sha256"] == file.sha256 == download.sha256_file(dest / file.path)
        assert entry["bytes"] == (dest / file.path).stat().st_size
    assert not leftovers(tmp_path)


@needs_mirror
def test_dailydialog_from_the_mirror_counts_utterances(tmp_path: Path) -> None:
    splits = parse_dailydialog(fetch_dataset("dailydialog", tmp_path, MIRROR, progress=False))
    # SOURCES.md: 87,171 / 8,069 / 7,740 utterances; train line 7852 (12 utterances, 11 labels)
    # is the release's one defective dialogue.
    defective = (tmp_path / "dailydialog/train/dialogues_train.txt").read_text().split("\n")[7851]
    skipped = defective.count("__eou__")
    assert skipped == 12
    counts = {name: len(split.sentences) for name, split in splits.items()}
    assert counts == {"train": 87171 - skipped, "valid": 8069, "test": 7740}
    assert splits["train"].dropped == {
        "dialogues_with_label_count_mismatch": 1,
        "utterances_in_skipped_dialogues": skipped,
    }
    for split in splits.values():
        assert len(split.labels["act"]) == len(split.labels["emotion"]) == len(split.sentences)


@needs_mirror
def test_smd_from_the_mirror_keeps_every_turn(tmp_path: Path) -> None:
    splits = parse_smd(fetch_dataset("smd", tmp_path, MIRROR, progress=False))
    turns = {
        name: len(split.sentences) + split.dropped.get("empty_utterances", 0)
        for name, split in splits.items()
    }
    assert turns == {"train": 12732, "valid": 1567, "test": 1629}  # SOURCES.md
    assert set(splits["train"].labels["intent"]) == {0, 1, 2}


@needs_mirror
def test_gzip_copy_in_the_mirror_is_accepted(tmp_path: Path) -> None:
    original = (MIRROR / "ptb" / "ptb.valid.txt").read_bytes()
    mirror = ptb_mirror(tmp_path, b"")
    (mirror / "ptb" / "ptb.valid.txt").unlink()
    (mirror / "ptb" / "ptb.valid.txt.gz").write_bytes(gzip.compress(original))
    dest = fetch_dataset("ptb", tmp_path / "raw", mirror, progress=False)
    assert (dest / "ptb.valid.txt").read_bytes() == original
    entry = manifest(tmp_path / "raw", "ptb")["files"]["ptb.valid.txt"]
    assert entry == {
        "sha256": sha(original),
        "source": "mirror:ptb/ptb.valid.txt.gz",
        "bytes": len(original),
    }


@needs_mirror
def test_corrupt_mirror_file_fails_and_leaves_no_file_and_no_manifest(tmp_path: Path) -> None:
    root = tmp_path / "raw"
    corrupt = bytearray((MIRROR / "ptb" / "ptb.valid.txt").read_bytes())
    corrupt[1000] ^= 0x01
    mirror = ptb_mirror(tmp_path, bytes(corrupt))
    with pytest.raises(ChecksumError) as error:
        fetch_dataset("ptb", root, mirror, progress=False)
    assert error.value.file == "ptb.valid.txt"
    assert error.value.expected == get_dataset("ptb").files[1].sha256
    assert error.value.actual == sha(bytes(corrupt))
    assert "ptb.valid.txt" in str(error.value) and error.value.expected in str(error.value)
    assert not (root / "ptb").exists()  # not even the verified train file
    assert not leftovers(root)


@needs_mirror
def test_a_failed_refetch_keeps_the_verified_copy(tmp_path: Path) -> None:
    root = tmp_path / "raw"
    fetch_dataset("ptb", root, MIRROR, progress=False)
    before = {p.name: p.read_bytes() for p in (root / "ptb").iterdir()}
    corrupt = bytearray((MIRROR / "ptb" / "ptb.valid.txt").read_bytes())
    corrupt[1000] ^= 0x01
    with pytest.raises(ChecksumError):
        fetch_dataset("ptb", root, ptb_mirror(tmp_path, bytes(corrupt)), progress=False)
    assert {p.name: p.read_bytes() for p in (root / "ptb").iterdir()} == before
    assert not leftovers(root)


@needs_mirror
def test_file_missing_from_the_mirror_is_named_when_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    offline(monkeypatch)
    with pytest.raises(DataUnavailableError) as error:
        fetch_dataset("yahoo", tmp_path, MIRROR, progress=False)
    message = str(error.value)
    train = get_dataset("yahoo").files[0]
    assert train.path == "train.txt"
    assert "file train.txt" in message and train.url in message
    assert str(MIRROR / "yahoo" / "train.txt.gz") in message
    assert "data.mirror" in message and "--mirror DIR" in message and "yahoo/train.txt" in message
    assert "val.txt" not in message  # the mirrored splits were fetched
    assert not (tmp_path / "yahoo").exists()  # an incomplete dataset is not left behind
    assert not leftovers(tmp_path)


def test_offline_without_mirror_names_file_url_and_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    offline(monkeypatch)
    with pytest.raises(DataUnavailableError) as error:
        fetch_dataset("ptb", tmp_path, None, progress=False)
    message = str(error.value)
    for file in get_dataset("ptb").files:
        assert f"file {file.path}" in message and file.url in message
    assert "no mirror was given" in message
    assert "set data.mirror in params.yaml (or pass --mirror DIR)" in message
    assert "ptb/ptb.train.txt (gzip-compressed copies accepted)" in message
    assert isinstance(error.value, DataError)
    assert not (tmp_path / "ptb").exists()
    assert not leftovers(tmp_path)


# --- the download path, exercised with file:// URLs to archives built here ---------------------


def register(monkeypatch: pytest.MonkeyPatch, files: tuple[RemoteFile, ...]) -> None:
    spec = DatasetSpec(
        name="fake",
        kind="text",
        description="test",
        license="test",
        homepage="",
        citation="",
        files=files,
        mirror_dir="fake",
        parser=lambda raw: {},
    )
    monkeypatch.setitem(REGISTRY, "fake", spec)


@pytest.fixture
def archives(tmp_path: Path) -> dict[str, Any]:
    """A tar.gz, a zip holding a zip, and a plain file, with their contents."""
    contents = {"a": b"alpha\nbeta\n", "b": b"gamma\n", "c": b"delta epsilon\n", "d": b"plain\n"}
    tgz = tmp_path / "bundle.tar.gz"
    with tarfile.open(tgz, "w:gz") as tar:
        for key, member in (("a", "bundle/a.txt"), ("b", "bundle/b.txt")):
            info = tarfile.TarInfo(member)
            info.size = len(contents[key])
            tar.addfile(info, io.BytesIO(contents[key]))
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as archive:
        archive.writestr("inner/c.txt", contents["c"])
    outer = tmp_path / "outer.zip"
    with zipfile.ZipFile(outer, "w") as archive:
        archive.writestr("outer/inner.zip", inner.getvalue())
    plain = tmp_path / "d.txt"
    plain.write_bytes(contents["d"])
    return {"tgz": tgz.as_uri(), "zip": outer.as_uri(), "plain": plain.as_uri(), **contents}


def fake_files(archives: dict[str, Any], wrong: str = "") -> tuple[RemoteFile, ...]:
    def digest(key: str) -> str:
        return sha(b"something else") if key == wrong else sha(archives[key])

    return (
        RemoteFile("a.txt", archives["tgz"], digest("a"), member="bundle/a.txt"),
        RemoteFile("sub/b.txt", archives["tgz"], digest("b"), member="bundle/b.txt"),
        RemoteFile("c.txt", archives["zip"], digest("c"), member="outer/inner.zip:inner/c.txt"),
        RemoteFile("d.txt", archives["plain"], digest("d")),
    )


def test_download_of_tar_nested_zip_and_plain_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, archives: dict[str, Any]
) -> None:
    register(monkeypatch, fake_files(archives))
    root = tmp_path / "raw"
    dest = fetch_dataset("fake", root, None, progress=False)
    for key, path in (("a", "a.txt"), ("b", "sub/b.txt"), ("c", "c.txt"), ("d", "d.txt")):
        assert (dest / path).read_bytes() == archives[key]
    files = manifest(root, "fake")["files"]
    assert files["c.txt"] == {
        "sha256": sha(archives["c"]),
        "source": archives["zip"],
        "member": "outer/inner.zip:inner/c.txt",
        "bytes": len(archives["c"]),
    }
    assert files["d.txt"]["source"] == archives["plain"]
    assert len(list((root / ".cache").iterdir())) == 2  # one download per archive
    # A second fetch reuses the cached archives: the originals are no longer needed.
    (tmp_path / "bundle.tar.gz").unlink()
    (tmp_path / "outer.zip").unlink()
    fetch_dataset("fake", root, None, progress=False)
    assert (root / "fake" / "manifest.json").is_file()


def test_mirror_is_preferred_to_the_download(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, archives: dict[str, Any]
) -> None:
    register(monkeypatch, fake_files(archives))
    mirror = tmp_path / "mirror"
    (mirror / "fake").mkdir(parents=True)
    (mirror / "fake" / "a.txt.gz").write_bytes(gzip.compress(archives["a"]))
    fetch_dataset("fake", tmp_path / "raw", mirror, progress=False)
    files = manifest(tmp_path / "raw", "fake")["files"]
    assert files["a.txt"]["source"] == "mirror:fake/a.txt.gz"
    assert files["sub/b.txt"]["source"] == archives["tgz"]


@pytest.mark.parametrize("wrong", ["a", "c", "d"])
def test_wrong_checksum_of_a_download_fails_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, archives: dict[str, Any], wrong: str
) -> None:
    register(monkeypatch, fake_files(archives, wrong=wrong))
    root = tmp_path / "raw"
    with pytest.raises(ChecksumError) as error:
        fetch_dataset("fake", root, None, progress=False)
    assert error.value.actual == sha(archives[wrong])
    assert not (root / "fake" / f"{wrong}.txt").exists()
    assert not (root / "fake" / "manifest.json").exists()
    assert not leftovers(root)
    if wrong != "d":  # a cached archive that gave a bad member is dropped
        url = archives["tgz" if wrong == "a" else "zip"]
        key = hashlib.sha256(url.encode()).hexdigest()[:16]
        assert not (root / ".cache" / f"fake-{key}").exists()


def test_unreachable_file_url_is_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = (tmp_path / "absent.txt").as_uri()
    register(monkeypatch, (RemoteFile("absent.txt", url, sha(b"")),))
    with pytest.raises(DataUnavailableError, match=r"absent\.txt") as error:
        fetch_dataset("fake", tmp_path / "raw", tmp_path / "empty-mirror", progress=False)
    assert url in str(error.value) and "data.mirror" in str(error.value)
    assert str(tmp_path / "empty-mirror" / "fake" / "absent.txt.gz") in str(error.value)


def test_interrupted_download_leaves_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Dropped(io.BytesIO):
        """A response that delivers some bytes, then loses the connection."""

        headers: ClassVar[dict[str, str]] = {"Content-Length": "100"}

        def read(self, size: int | None = -1) -> bytes:
            if self.tell():
                raise ConnectionResetError("connection reset by peer (test)")
            return super().read(10)

    monkeypatch.setattr(urllib.request, "urlopen", lambda *args, **kwargs: Dropped(b"x" * 100))
    register(monkeypatch, (RemoteFile("big.txt", "https://example.org/big.txt", sha(b"x" * 100)),))
    root = tmp_path / "raw"
    with pytest.raises(DataUnavailableError, match="ConnectionResetError"):
        fetch_dataset("fake", root, None, progress=False)
    assert not (root / "fake").exists()
    assert not leftovers(root)


def test_a_download_page_instead_of_an_archive_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = tmp_path / "page.html"
    page.write_text("<html>Google Drive can't scan this file for viruses</html>")
    register(monkeypatch, (RemoteFile("a.txt", page.as_uri(), None, member="x/a.txt"),))
    root = tmp_path / "raw"
    with pytest.raises(DataError, match="did not yield a zip or tar archive"):
        fetch_dataset("fake", root, None, progress=False)
    assert list((root / ".cache").iterdir()) == []
    assert not (root / "fake" / "manifest.json").exists()


def test_unchecked_file_records_its_actual_checksum(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, archives: dict[str, Any]
) -> None:
    register(monkeypatch, (RemoteFile("d.txt", archives["plain"], None, note="unverified"),))
    fetch_dataset("fake", tmp_path, None, progress=False)
    assert manifest(tmp_path, "fake")["files"]["d.txt"]["sha256"] == sha(archives["d"])


def test_remote_datasets_take_no_options(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="takes no options"):
        fetch_dataset("ptb", tmp_path, None, options={"seed": 1}, progress=False)


def test_embedded_dataset_is_generated_with_a_manifest(tmp_path: Path) -> None:
    options = {"train": 50, "valid": 10, "test": 10, "num_classes": 3, "seed": 7}
    first = fetch_dataset("synthetic_text", tmp_path / "one", None, options, progress=False)
    second = fetch_dataset("synthetic_text", tmp_path / "two", None, options, progress=False)
    record = manifest(tmp_path / "one", "synthetic_text")
    assert record == manifest(tmp_path / "two", "synthetic_text")
    assert record["options"] == options
    assert set(record["files"]) == {"train.txt", "valid.txt", "test.txt"}
    for name, entry in record["files"].items():
        assert entry["source"] == "generated"
        assert (
            entry["sha256"] == sha((first / name).read_bytes()) == sha((second / name).read_bytes())
        )


def test_a_gzipped_download_is_decompressed_and_checked_on_its_content(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    content = b"\x00\x00\x08\x01" + bytes(range(10))
    served = tmp_path / "labels.gz"
    served.write_bytes(gzip.compress(content))
    register(monkeypatch, (RemoteFile("labels", served.as_uri(), sha(content), gzipped=True),))
    dest = fetch_dataset("fake", tmp_path / "raw", None, progress=False)
    assert (dest / "labels").read_bytes() == content


def test_inception_weights_with_a_wrong_sha256_are_refused_and_removed(tmp_path: Path) -> None:
    (file,) = get_dataset("inception_fid").files
    mirror = tmp_path / "mirror"
    (mirror / "inception_fid").mkdir(parents=True)
    (mirror / "inception_fid" / file.path).write_bytes(b"not the inception weights")
    root = tmp_path / "weights"
    with pytest.raises(ChecksumError) as error:
        fetch_dataset("inception_fid", root, mirror, progress=False)
    message = str(error.value)
    assert file.path in message and f"expected sha256 {file.sha256}" in message
    assert "removed" in message
    assert not (root / "inception_fid").exists() and not leftovers(root)


def test_a_hand_placed_inception_file_with_a_wrong_sha256_is_removed(tmp_path: Path) -> None:
    from latentrepro.metrics.features import InceptionFeatures

    (file,) = get_dataset("inception_fid").files
    weights = tmp_path / file.path
    weights.write_bytes(b"corrupt")
    with pytest.raises(ChecksumError, match=f"expected sha256 {file.sha256}"):
        InceptionFeatures(weights, "cpu")
    assert not weights.exists()


@needs_mirror
def test_fashion_mnist_from_the_recompressed_mirror_parses_to_the_official_counts(
    tmp_path: Path,
) -> None:
    from latentrepro.data.parsers import parse_fashion_mnist

    dest = fetch_dataset("fashion_mnist", tmp_path, MIRROR, progress=False)
    splits = parse_fashion_mnist(dest)
    assert {name: len(split.x) for name, split in splits.items()} == {
        "train": 55_000, "valid": 5_000, "test": 10_000,
    }  # fmt: skip
    assert splits["test"].x.shape[1:] == (1, 28, 28)
    assert sorted(set(splits["test"].labels["class"].tolist())) == list(range(10))
    assert (splits["test"].labels["class"] == 0).sum() == 1000  # 1,000 test images per class
