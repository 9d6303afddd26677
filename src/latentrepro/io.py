"""File output that a kill, a crash or a full disk cannot leave half-written, and input that
names the damaged file.

Every artefact is written to a temporary sibling, flushed to the disk (``fsync``), renamed onto
its path and the rename made durable by an ``fsync`` of the directory. A killed job or a machine
that loses power therefore leaves either the previous file or the new one, never part of one.
Temporary files are created like ordinary ones (mode ``0o666`` less the process's umask, not
``mkstemp``'s 0600), so results on a shared machine are as readable as the umask allows.

A full disk raises :class:`StorageError` naming the file, the bytes it needed and those free;
an unreadable torch file raises :class:`CorruptFileError` naming it.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import math
import os
import re
import secrets
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

#: errno values that mean "no room left": the device is full or the user's quota is spent.
DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})


class StorageError(OSError):
    """A file could not be written (the message names it, and says when the disk is full)."""

    def __str__(self) -> str:
        return str(self.strerror)


class CorruptFileError(ValueError):
    """A file exists but cannot be read back (truncated, overwritten or not what it claims)."""

    def __init__(self, path: Path, detail: str) -> None:
        self.path, self.detail = path, detail
        super().__init__(
            f"{path} cannot be read ({detail}): it is truncated or damaged. Delete it and "
            "rerun the step that writes it"
        )


def _free_bytes(directory: Path) -> int | None:
    try:
        return shutil.disk_usage(directory).free
    except OSError:
        return None


def _bytes_in(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def storage_error(
    target: Path, error: OSError, written: int = 0, needed: int | None = None
) -> StorageError:
    """A :class:`StorageError` for a failed write of ``target``: for a full disk, how many bytes
    the file needed (or had been written when it filled) and how many are free."""
    if error.errno not in DISK_FULL:
        return StorageError(error.errno, f"cannot write {target}: {error.strerror or error}")
    free = _free_bytes(target.parent)
    size = f"it needs {needed:,} bytes" if needed is not None else f"{written:,} bytes were written"
    room = f"{free:,} bytes are free there" if free is not None else "the free space is unknown"
    return StorageError(
        error.errno,
        f"disk full: cannot write {target} ({size}, {room}); nothing was replaced. "
        "Free space (or point the output elsewhere) and rerun: finished steps are kept",
    )


def _owner() -> str:
    """``host~pid`` of this process, written into the names of its temporary files."""
    return f"{socket.gethostname().replace('~', '-')}~{os.getpid()}"


def _orphaned(name: str, pattern: re.Pattern[str]) -> bool:
    """Whether ``name`` is a temporary file of a process of this host that no longer exists
    (a job killed with -9 mid-write); those of other hosts or live processes are kept."""
    match = pattern.fullmatch(name)
    if match is None or match["host"] != _owner().partition("~")[0]:
        return False
    try:
        os.kill(int(match["pid"]), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


def remove_orphans(parent: Path, stem: str, suffix: str) -> list[Path]:
    """Remove the temporary files (or staging folders) ``.{stem}.HOST~PID~TOKEN{suffix}`` that
    killed processes of this host left in ``parent``; return them."""
    pattern = re.compile(
        rf"\.{re.escape(stem)}\.(?P<host>[^~]+)~(?P<pid>\d+)~[0-9a-f]+{re.escape(suffix)}"
    )
    removed = []
    with contextlib.suppress(FileNotFoundError):
        for entry in parent.iterdir():
            if _orphaned(entry.name, pattern):
                if entry.is_dir():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
                removed.append(entry)
    return removed


def _create_temp(target: Path) -> Path:
    """An empty, new hidden sibling of ``target`` with ordinary permissions (umask applies)."""
    remove_orphans(target.parent, target.name, ".tmp")
    while True:
        tmp = target.with_name(f".{target.name}.{_owner()}~{secrets.token_hex(4)}.tmp")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return tmp


def fsync_path(path: Path) -> None:
    """Flush a file's (or a directory's entries') data to the disk."""
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if path.is_dir() else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        if path.is_dir():  # platforms that cannot open directories
            return
        raise
    try:
        os.fsync(fd)
    except OSError as error:
        if not path.is_dir() or error.errno not in (errno.EINVAL, errno.ENOTSUP):
            raise
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(
    path: str | os.PathLike[str], size: int | None = None, previous: Path | None = None
) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; if the block succeeds, fsync it, rename it onto
    ``path`` and fsync the directory. On failure the temporary file is removed.

    ``size`` (bytes the file will have, when known) makes a disk-full message say how much
    room the file needed. ``previous``: the file being replaced is kept there (renamed just
    before the new one takes its place). Errors from a full disk become
    :class:`StorageError`; other errors raised in the block propagate unchanged. Temporary
    files that killed processes left next to ``path`` are removed first.
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = _create_temp(target)
    except OSError as error:
        raise storage_error(target, error, needed=size) from error
    try:
        try:
            yield tmp
        except OSError as error:
            if error.errno in DISK_FULL and not isinstance(error, StorageError):
                raise _discarded(tmp, target, error, size) from error
            raise
        try:
            fsync_path(tmp)
            if previous is not None and target.exists():
                os.replace(target, previous)
            os.replace(tmp, target)
            fsync_path(target.parent)
        except OSError as error:
            raise _discarded(tmp, target, error, size) from error
    finally:
        tmp.unlink(missing_ok=True)


def _discarded(tmp: Path, target: Path, error: OSError, size: int | None) -> StorageError:
    """Remove the partial ``tmp`` (so the free space reported is what a retry would have),
    then describe the failed write of ``target``."""
    written = _bytes_in(tmp)
    tmp.unlink(missing_ok=True)
    return storage_error(target, error, written, size)


def make_temp_dir(parent: Path, stem: str, suffix: str) -> Path:
    """A new hidden directory ``.{stem}.HOST~PID~TOKEN{suffix}`` under ``parent`` with ordinary
    permissions (``mkdtemp`` gives 0700); those that killed processes left are removed first."""
    parent.mkdir(parents=True, exist_ok=True)
    remove_orphans(parent, stem, suffix)
    while True:
        path = parent / f".{stem}.{_owner()}~{secrets.token_hex(4)}{suffix}"
        try:
            path.mkdir(mode=0o777)
        except FileExistsError:
            continue
        return path


def write_bytes(
    path: str | os.PathLike[str], data: bytes | memoryview, previous: Path | None = None
) -> None:
    """Write ``data`` to ``path`` atomically and durably (``previous``: see :func:`atomic_path`)."""
    with atomic_path(path, len(data), previous) as tmp, tmp.open("wb") as handle:
        handle.write(data)


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as indented, key-sorted, valid JSON atomically.

    NaN and infinities, which JSON cannot hold, become ``null``; a writer that knows why a
    value is undefined says so in a field of its own (the metrics JSON's ``null_reasons``).
    """
    text = json.dumps(
        finite_or_none(obj), indent=2, sort_keys=True, default=_json_default, allow_nan=False
    )
    write_text(path, text + "\n")


def read_json(path: str | os.PathLike[str]) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def finite_or_none(obj: Any) -> Any:
    """``obj`` with every non-finite float (in nested dicts, lists and tuples) replaced by None."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {key: finite_or_none(value) for key, value in obj.items()}
    if isinstance(obj, list | tuple):
        return [finite_or_none(value) for value in obj]
    return obj


def save_torch(path: str | os.PathLike[str], obj: Any, previous: Path | None = None) -> None:
    """``torch.save`` atomically, durably and byte-deterministically.

    The object is serialised in memory first, so the write knows its size (a full disk is
    reported with it) and torch names the archive's inner folder ``archive`` rather than after
    the (random) temporary file, so equal objects give equal bytes. ``previous``: see
    :func:`atomic_path`.
    """
    import torch  # here, not at module level: the Snakefile imports this module's users

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    write_bytes(path, buffer.getbuffer(), previous)


def load_torch(path: str | os.PathLike[str], **kwargs: Any) -> Any:
    """``torch.load(path, **kwargs)``; a damaged file raises :class:`CorruptFileError` naming it.

    A missing file still raises ``FileNotFoundError``.
    """
    import torch

    path = Path(path)
    try:
        return torch.load(path, **kwargs)
    except (FileNotFoundError, IsADirectoryError, PermissionError, MemoryError):
        raise
    except Exception as error:  # a damaged archive raises nearly anything: OSError, KeyError, ...
        detail = f"{_first_line(error)}; {_bytes_in(path):,} bytes"
        raise CorruptFileError(path, detail) from error


def _first_line(error: BaseException) -> str:
    """``Type: first sentence of the message`` (torch's advice paragraphs left out)."""
    lines = str(error).strip().splitlines()
    if not lines:
        return type(error).__name__
    return f"{type(error).__name__}: {lines[0].split('. ')[0].rstrip('.')}"


def _json_default(obj: Any) -> Any:
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "item"):  # numpy scalars and one-element tensors
        return finite_or_none(obj.item())
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
