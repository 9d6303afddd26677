"""Atomic, durable output: permissions, fsync order, disk-full messages, orphans, NaN in JSON."""

from __future__ import annotations

import errno
import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from latentrepro import io
from latentrepro.io import (
    CorruptFileError,
    StorageError,
    atomic_path,
    load_torch,
    make_temp_dir,
    remove_orphans,
    save_torch,
    write_json,
    write_text,
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask():
    def set_umask(value: int) -> None:
        os.umask(value)

    old = os.umask(0o022)
    yield set_umask
    os.umask(old)


@pytest.mark.parametrize("value", [0o022, 0o002, 0o077])
def test_files_and_folders_get_the_permissions_the_umask_allows(tmp_path, umask, value):
    umask(value)
    write_text(tmp_path / "a.txt", "x")
    save_torch(tmp_path / "b.pt", {"x": 1})
    folder = make_temp_dir(tmp_path, "data", ".partial")
    assert mode(tmp_path / "a.txt") == mode(tmp_path / "b.pt") == 0o666 & ~value
    assert mode(folder) == 0o777 & ~value


def test_the_file_is_flushed_before_the_rename_and_the_folder_after(tmp_path, monkeypatch):
    events: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src, dst) -> None:
        events.append(("replace", str(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    target = tmp_path / "out.json"
    write_json(target, {"a": 1})
    kinds = [kind for kind, _ in events]
    assert kinds == ["fsync", "replace", "fsync"]
    assert Path(events[0][1]).name.startswith(".out.json.") and events[0][1].endswith(".tmp")
    assert events[1][1] == str(target) and events[2][1] == str(tmp_path)


def test_a_full_disk_names_the_file_and_the_bytes_and_replaces_nothing(tmp_path):
    target = tmp_path / "model.pt"
    target.write_bytes(b"previous")
    with pytest.raises(StorageError) as err, atomic_path(target, size=123_456) as tmp:
        tmp.write_bytes(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")
    message = str(err.value)
    assert message.startswith(f"disk full: cannot write {target} (it needs 123,456 bytes, ")
    assert "bytes are free there" in message
    assert err.value.errno == errno.ENOSPC
    assert target.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pt"]


def test_other_errors_in_the_block_pass_through(tmp_path):
    with pytest.raises(ConnectionResetError), atomic_path(tmp_path / "f") as tmp:
        tmp.write_bytes(b"x")
        raise ConnectionResetError("peer went away")
    assert list(tmp_path.iterdir()) == []


def test_the_replaced_file_can_be_kept(tmp_path):
    target, previous = tmp_path / "state.pt", tmp_path / "state.pt.prev"
    save_torch(target, {"epoch": 1})
    save_torch(target, {"epoch": 2}, previous=previous)
    assert load_torch(target)["epoch"] == 2 and load_torch(previous)["epoch"] == 1


def test_equal_objects_give_equal_bytes(tmp_path):
    save_torch(tmp_path / "a.pt", {"w": torch.arange(6.0)})
    save_torch(tmp_path / "b.pt", {"w": torch.arange(6.0)})
    assert (tmp_path / "a.pt").read_bytes() == (tmp_path / "b.pt").read_bytes()


@pytest.mark.parametrize("damage", ["cut to 0", "cut to 100", "cut to 1000", "zeroed"])
def test_a_damaged_torch_file_is_named(tmp_path, damage):
    path = tmp_path / "model.pt"
    save_torch(path, {"w": torch.zeros(1000)})
    if damage == "zeroed":  # raises KeyError inside torch
        path.write_bytes(b"\0" * path.stat().st_size)
    else:
        os.truncate(path, int(damage.split()[-1]))
    with pytest.raises(CorruptFileError) as err:
        load_torch(path, weights_only=True)
    assert str(err.value).startswith(f"{path} cannot be read (")
    assert f"; {path.stat().st_size:,} bytes): it is truncated or damaged" in str(err.value)


def test_a_missing_torch_file_is_still_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_torch(tmp_path / "absent.pt")


def test_temporary_files_of_killed_processes_are_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], text=True,
                          capture_output=True, check=True).stdout.strip()  # fmt: skip
    host = socket.gethostname()
    names = {
        "dead": f".model.pt.{host}~{dead}~0a1b2c3d.tmp",
        "alive": f".model.pt.{host}~{os.getpid()}~0a1b2c3d.tmp",
        "elsewhere": f".model.pt.other-host~{dead}~0a1b2c3d.tmp",
        "other file": f".history.csv.{host}~{dead}~0a1b2c3d.tmp",
    }
    for name in names.values():
        (tmp_path / name).write_bytes(b"half")
    assert remove_orphans(tmp_path, "model.pt", ".tmp") == [tmp_path / names["dead"]]
    write_text(tmp_path / "model.pt", "new")  # every write sweeps its own orphans
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted([names["alive"], names["elsewhere"], names["other file"], "model.pt"])


def test_json_holds_null_for_nan_and_infinity(tmp_path):
    path = tmp_path / "m.json"
    write_json(path, {"nll": float("nan"), "wkl": float("inf"), "x": [1.5, -float("inf")],
                      "t": torch.tensor(float("nan")), "ok": 2.0})  # fmt: skip

    def refuse(constant: str) -> None:
        raise ValueError(f"not JSON: {constant}")

    assert json.loads(path.read_text(), parse_constant=refuse) == {
        "nll": None, "wkl": None, "x": [1.5, None], "t": None, "ok": 2.0,
    }  # fmt: skip


def test_free_space_unknown_is_said(tmp_path, monkeypatch):
    monkeypatch.setattr(io.shutil, "disk_usage", lambda _: (_ for _ in ()).throw(OSError()))
    error = io.storage_error(tmp_path / "f", OSError(errno.EDQUOT, "quota"), written=10)
    assert "10 bytes were written, the free space is unknown" in str(error)
