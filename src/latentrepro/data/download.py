"""Fetch a dataset into ``root/<name>/``: from a local mirror, by download, or by generation.

Every file is written atomically and checked against the registry's sha256 (of the uncompressed
content). ``manifest.json`` is removed first and written last, so a dataset directory with a
manifest is complete and verified, and one without is not.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import http.client
import io
import os
import shutil
import sys
import tarfile
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from tqdm import tqdm

from latentrepro.data.registry import DatasetSpec, RemoteFile, get_dataset
from latentrepro.errors import DataError
from latentrepro.io import atomic_path, make_temp_dir, write_json

TIMEOUT_S = 60
_CHUNK = 1 << 20
_USER_AGENT = "latentrepro-data/0.1 (+urllib)"
# What a failed or interrupted transfer raises (HTTPError is a URLError).
_NETWORK_ERRORS = (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException)


class ChecksumError(DataError):
    """A file's sha256 differs from the registry's; the file has been removed."""

    def __init__(self, file: str, expected: str, actual: str, source: str) -> None:
        self.file, self.expected, self.actual, self.source = file, expected, actual, source
        super().__init__(
            f"checksum mismatch for {file} (from {source}): expected sha256 {expected}, "
            f"got {actual}; the file was removed"
        )


class DataUnavailableError(DataError):
    """A file is in no mirror and could not be downloaded."""


class TruncatedTransferError(ConnectionError):
    """The server closed the connection before sending all the bytes it announced."""


class _LengthChecked:
    """A response stream that raises :class:`TruncatedTransferError` when it ends short of its
    ``Content-Length`` (``http.client`` returns the short data without complaint, so a file
    without a checksum would otherwise be kept cut off)."""

    def __init__(self, stream: IO[bytes], expected: int | None) -> None:
        self.stream, self.expected, self.received = stream, expected, 0

    def read(self, size: int | None = -1) -> bytes:
        data = self.stream.read(size)
        self.received += len(data)
        ended = not data or size is None or size < 0
        if ended and self.expected is not None and self.received < self.expected:
            raise TruncatedTransferError(
                f"the transfer ended after {self.received:,} of {self.expected:,} bytes"
            )
        return data


def fetch_dataset(
    name: str,
    root: Path,
    mirror: Path | None,
    options: dict[str, Any] | None = None,
    progress: bool = True,
) -> Path:
    """Fetch dataset ``name`` into ``root/name/`` and write its ``manifest.json``; return the dir.

    Embedded datasets are generated from ``options``. For remote ones each file is taken from
    ``<mirror>/<mirror_dir>/<path>`` (or ``<path>.gz``, decompressed) when present, else from its
    URL (archives are cached under ``root/.cache``). Raises ``ChecksumError`` on a sha256 mismatch
    and ``DataUnavailableError`` when a file is neither mirrored nor downloadable.
    """
    spec = get_dataset(name)
    root, mirror = Path(root), None if mirror is None else Path(mirror)
    if spec.generator is None and options:
        raise ValueError(f"dataset {name!r} is not generated and takes no options: {options}")
    root.mkdir(parents=True, exist_ok=True)
    # The dataset is assembled in a hidden sibling and renamed into place only when every file
    # is verified: a failure or a kill leaves neither a partial dataset nor a stale manifest.
    staging = make_temp_dir(root, name, ".partial")
    try:
        record: dict[str, Any] = {
            "dataset": name,
            "license": spec.license,
            "homepage": spec.homepage,
        }
        if spec.generator is not None:
            spec.generator(staging, dict(options or {}))
            record["options"] = dict(options or {})
            record["files"] = {
                path.name: _generated_entry(path)
                for path in sorted(staging.iterdir())
                if path.is_file() and not path.name.startswith(".")
            }
        else:
            record["files"] = _fetch_remote(spec, staging, root / ".cache", mirror, progress)
        write_json(staging / "manifest.json", record)
        dest = root / name
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(staging, dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return dest


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _generated_entry(path: Path) -> dict[str, Any]:
    return {"sha256": sha256_file(path), "source": "generated", "bytes": path.stat().st_size}


def _fetch_remote(
    spec: DatasetSpec, dest: Path, cache: Path, mirror: Path | None, progress: bool
) -> dict[str, Any]:
    """Fetch every file; unavailable ones are reported together after trying all of them."""
    entries: dict[str, Any] = {}
    missing: list[str] = []
    for file in spec.files:
        try:
            entries[file.path] = _fetch_file(spec, file, dest, cache, mirror, progress)
        except DataUnavailableError as error:
            missing.append(str(error))
    if missing:
        raise DataUnavailableError("\n".join(missing))
    return entries


def _fetch_file(
    spec: DatasetSpec,
    file: RemoteFile,
    dest: Path,
    cache: Path,
    mirror: Path | None,
    progress: bool,
) -> dict[str, Any]:
    """Put one file at ``dest/file.path``, verified; return its manifest entry."""
    target = dest / file.path
    looked: list[Path] = []
    try:
        if mirror is not None:
            plain = mirror / spec.mirror_dir / file.path
            for candidate, compressed in ((plain, False), (Path(f"{plain}.gz"), True)):
                looked.append(candidate)
                if candidate.is_file():
                    digest, size = _copy_from_mirror(candidate, compressed, target, file)
                    source = f"mirror:{candidate.relative_to(mirror).as_posix()}"
                    return {"sha256": digest, "source": source, "bytes": size}
        if file.member is None:
            with _download(file.url, progress, spec, file, looked) as stream:
                source = gzip.GzipFile(fileobj=stream) if file.gzipped else stream
                digest, size = _write_verified(source, target, file, file.url)
            return {"sha256": digest, "source": file.url, "bytes": size}
        archive = _cached_archive(cache, spec, file, looked, progress)
        try:
            with _open_member(archive, file) as stream:
                digest, size = _write_verified(stream, target, file, f"{file.url} [{file.member}]")
        except ChecksumError:
            archive.unlink(missing_ok=True)  # a bad cached archive must not be reused
            raise
        return {"sha256": digest, "source": file.url, "member": file.member, "bytes": size}
    except BaseException:
        target.unlink(missing_ok=True)
        raise


def _copy_from_mirror(
    candidate: Path, compressed: bool, target: Path, file: RemoteFile
) -> tuple[str, int]:
    """Copy a mirror file to ``target`` (decompressing a ``.gz`` copy), verified."""
    try:
        if compressed:
            with gzip.open(candidate, "rb") as stream:
                return _write_verified(stream, target, file, f"mirror:{candidate}")
        with candidate.open("rb") as stream:
            return _write_verified(stream, target, file, f"mirror:{candidate}")
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise DataError(f"cannot decompress mirror file {candidate}: {error}") from error


def _write_verified(
    stream: IO[bytes], target: Path, file: RemoteFile, origin: str
) -> tuple[str, int]:
    """Copy ``stream`` to ``target`` atomically, checking the sha256; return (sha256, bytes)."""
    digest = hashlib.sha256()
    size = 0
    with atomic_path(target) as tmp:
        with tmp.open("wb") as out:
            while chunk := stream.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
        actual = digest.hexdigest()
        if file.sha256 is not None and actual != file.sha256:
            raise ChecksumError(file.path, file.sha256, actual, origin)
    return actual, size


def _unavailable(
    spec: DatasetSpec, file: RemoteFile, looked: list[Path], reason: str
) -> DataUnavailableError:
    where = (
        "not found in the mirror at " + ", ".join(str(path) for path in looked)
        if looked
        else "no mirror was given"
    )
    note = f" Note: {file.note}" if file.note else ""
    return DataUnavailableError(
        f"dataset {spec.name!r}: file {file.path} is unavailable ({where}) and downloading it "
        f"from {file.url} failed: {reason}. To fix: set data.mirror in params.yaml (or pass "
        f"--mirror DIR) to a directory holding {spec.mirror_dir}/{file.path} (gzip-compressed "
        f"copies accepted), or restore network access.{note}"
    )


@contextlib.contextmanager
def _download(
    url: str, progress: bool, spec: DatasetSpec, file: RemoteFile, looked: list[Path]
) -> Iterator[IO[bytes]]:
    """Open ``url`` as a stream with a progress bar; network failures -> DataUnavailableError."""
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            total = response.headers.get("Content-Length")
            with tqdm.wrapattr(
                response,
                "read",
                total=int(total) if total else None,
                desc=Path(file.path).name,
                unit="B",
                unit_scale=True,
                disable=not progress,
                file=sys.stderr,
            ) as stream:
                yield _LengthChecked(stream, int(total) if total else None)
    except _NETWORK_ERRORS as error:
        raise _unavailable(spec, file, looked, f"{type(error).__name__}: {error}") from error


def _cached_archive(
    cache: Path, spec: DatasetSpec, file: RemoteFile, looked: list[Path], progress: bool
) -> Path:
    """The archive at ``file.url``, downloaded once into ``cache`` and reused afterwards."""
    key = hashlib.sha256(file.url.encode()).hexdigest()[:16]
    archive = cache / f"{spec.name}-{key}"
    if not archive.is_file():
        with (
            _download(file.url, progress, spec, file, looked) as source,
            atomic_path(archive) as tmp,
            tmp.open("wb") as out,
        ):
            shutil.copyfileobj(source, out, _CHUNK)
    return archive


@contextlib.contextmanager
def _open_member(archive: Path, file: RemoteFile) -> Iterator[IO[bytes]]:
    """Open ``file.member`` in ``archive``; ``a.zip:b.txt`` descends into nested archives."""
    assert file.member is not None
    with contextlib.ExitStack() as stack:
        handle: IO[bytes] = stack.enter_context(archive.open("rb"))
        parts = file.member.split(":")
        for depth, part in enumerate(parts):
            handle = _open_in_archive(handle, part, stack, archive, file)
            if depth < len(parts) - 1:
                handle = io.BytesIO(handle.read())
        yield handle


def _open_in_archive(
    handle: IO[bytes], name: str, stack: contextlib.ExitStack, archive: Path, file: RemoteFile
) -> IO[bytes]:
    """Open member ``name`` of the zip or tar archive read from ``handle``."""
    try:
        if zipfile.is_zipfile(handle):
            handle.seek(0)
            return stack.enter_context(stack.enter_context(zipfile.ZipFile(handle)).open(name))
        handle.seek(0)
        tar = stack.enter_context(tarfile.TarFile.open(fileobj=handle, mode="r:*"))
        member = tar.extractfile(name)
    except KeyError:
        member = None
    except (tarfile.ReadError, zipfile.BadZipFile):
        archive.unlink(missing_ok=True)
        raise DataError(
            f"{file.url} did not yield a zip or tar archive (a download page instead of the "
            f"file?); the cached copy {archive} was removed"
        ) from None
    if member is None:
        raise DataError(f"archive {file.url} has no regular file {name!r} (for {file.path})")
    return member
