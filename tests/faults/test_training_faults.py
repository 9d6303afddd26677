"""Training under faults: kill -9 and rerun, a corrupt resume file, a full disk. Each asserts
what the user is told and that nothing half-written is trusted: a rerun ends with exactly the
weights of a run that nothing happened to."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import torch

from tests.faults.conftest import cli_command, leftovers, run_cli, train_args

pytestmark = pytest.mark.faults

EPOCHS = 8


@pytest.fixture(scope="module")
def reference(dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, torch.Tensor]:
    """The weights of an uninterrupted run."""
    out = tmp_path_factory.mktemp("reference")
    result = run_cli(*train_args(dataset, out, out / "resume.pt", EPOCHS))
    assert result.returncode == 0, result.stderr
    return torch.load(out / "model.pt", weights_only=False)["state_dict"]


def assert_same_weights(model: Path, reference: dict[str, torch.Tensor]) -> None:
    weights = torch.load(model, weights_only=False)["state_dict"]
    assert weights.keys() == reference.keys()
    for key in reference:
        torch.testing.assert_close(weights[key], reference[key], rtol=0, atol=0)


def kill_after_two_epochs(dataset: Path, out: Path, resume: Path) -> None:
    """Start training and kill -9 it once two epochs are saved (``.prev`` exists).

    A kill that lands between the two renames of a save (microseconds of each epoch) leaves
    only ``.prev``, which is fine for the workflow but not the case these tests set up: then
    the run is killed again from the start.
    """
    for _ in range(3):
        shutil.rmtree(resume.parent, ignore_errors=True)
        job = subprocess.Popen(
            cli_command(*train_args(dataset, out, resume, EPOCHS)),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        # No wall-clock limit: under load two epochs may take minutes (pytest-timeout guards).
        while not resume.with_name(resume.name + ".prev").exists():
            assert job.poll() is None, "training ended before it could be killed"
            time.sleep(0.02)
        job.send_signal(signal.SIGKILL)
        job.wait()
        assert not (out / "model.pt").exists()
        if resume.exists():
            return
    raise AssertionError("every kill landed between the renames of a save")


@pytest.fixture(scope="module")
def killed(dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The resume folder of a run killed with -9 after its second epoch."""
    folder = tmp_path_factory.mktemp("killed")
    kill_after_two_epochs(dataset, folder / "run", folder / "resume" / "seed0.pt")
    return folder / "resume"


def killed_copy(killed: Path, tmp_path: Path) -> Path:
    """A fresh copy of the killed run's resume folder; returns its resume path."""
    shutil.copytree(killed, tmp_path / "resume")
    return tmp_path / "resume" / "seed0.pt"


def test_kill_9_then_rerun_resumes_to_the_same_weights(dataset, reference, killed, tmp_path):
    out, resume = tmp_path / "run", killed_copy(killed, tmp_path)
    epoch = torch.load(resume, weights_only=False)["loop"]["epoch"]
    # What a kill in the middle of a save leaves: a temporary file of a dead process.
    orphan = resume.with_name(
        f".{resume.name}.{socket.gethostname()}~999999999~{uuid.uuid4().hex[:8]}.tmp"
    )
    orphan.write_bytes(b"half a checkpoint")
    result = run_cli(*train_args(dataset, out, resume, EPOCHS))
    assert result.returncode == 0, result.stderr
    assert f"resuming from {resume} after epoch {epoch}" in result.stderr
    assert_same_weights(out / "model.pt", reference)
    assert not resume.exists() and not resume.with_name("seed0.pt.prev").exists()
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("damage", ["truncated", "emptied", "overwritten"])
def test_a_corrupt_resume_file_is_moved_aside_and_the_epoch_before_resumed(
    dataset, reference, killed, tmp_path, damage
):
    out, resume = tmp_path / "run", killed_copy(killed, tmp_path)
    log = tmp_path / "logs" / "train" / "seed0.log"
    size = resume.stat().st_size
    previous_epoch = torch.load(resume.with_name("seed0.pt.prev"), weights_only=False)["loop"][
        "epoch"
    ]
    if damage == "truncated":
        resume.write_bytes(resume.read_bytes()[: size // 2])
    elif damage == "emptied":
        resume.write_bytes(b"")
    else:
        resume.write_bytes(b"\0" * size)
    result = run_cli("--log", log, *train_args(dataset, out, resume, EPOCHS))
    assert result.returncode == 0, result.stderr
    console = result.stderr
    assert f"[train/seed0] warning: resume file {resume} cannot be read (" in console
    assert f"moved it to {resume}.corrupt" in console
    assert f"resuming from {resume}.prev after epoch {previous_epoch}" in console
    assert "warning: resume file" in log.read_text()  # the log has the full record too
    assert (resume.parent / "seed0.pt.corrupt").exists()
    assert_same_weights(out / "model.pt", reference)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("damage", ["truncated", "foreign"])
def test_a_corrupt_resume_file_with_no_state_before_it_is_moved_aside_and_training_restarts(
    dataset, reference, killed, tmp_path, damage
):
    """``latentrepro train`` run by hand: the resume file does not load and its ``.prev`` is
    gone or damaged too. Both are set aside by name and the run starts from scratch, ending
    with the weights of a run that nothing happened to (the same seed)."""
    out, resume = tmp_path / "run", killed_copy(killed, tmp_path)
    previous = resume.with_name("seed0.pt.prev")
    if damage == "truncated":  # and the epoch before it lost
        resume.write_bytes(resume.read_bytes()[:1000])
        previous.unlink()
        damaged = [resume]
    else:  # a readable torch file that is not a resume file, and a truncated .prev
        torch.save({"weights": torch.zeros(3)}, resume)
        previous.write_bytes(previous.read_bytes()[:-10])
        damaged = [resume, previous]
    contents = {path: path.read_bytes() for path in damaged}
    result = run_cli(*train_args(dataset, out, resume, EPOCHS))
    assert result.returncode == 0, result.stderr
    console = result.stderr
    for path in damaged:
        assert f"warning: resume file {path} cannot be read (" in console
        assert f"moved it to {path}.corrupt" in console
        assert path.with_name(path.name + ".corrupt").read_bytes() == contents[path]
    if damage == "foreign":
        assert "not a resume file of this project" in console
    assert f"warning: no readable state is left at {resume}; training from scratch" in console
    assert "resuming from" not in console
    assert_same_weights(out / "model.pt", reference)
    assert not resume.exists() and not previous.exists()
    assert leftovers(tmp_path) == []


def mount_tmpfs(where: Path, size: int) -> None:
    where.mkdir(parents=True, exist_ok=True)
    if shutil.which("mount") is None:
        pytest.skip("no mount command to make a small file system")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({done.stderr.strip() or 'not root'})")


def test_a_full_disk_names_the_file_and_the_rerun_resumes(dataset, reference, tmp_path):
    small, out = tmp_path / "small", tmp_path / "run"
    resume = small / "resume" / "seed0.pt"
    # Room for one resume file but not for a second beside it.
    probe = run_cli(*train_args(dataset, tmp_path / "probe", tmp_path / "probe.pt", 1))
    assert probe.returncode == 0, probe.stderr
    one = (tmp_path / "probe" / "model.pt").stat().st_size * 2  # weights, optimiser and best
    mount_tmpfs(small, one * 3 // 2)
    try:
        result = run_cli(*train_args(dataset, out, resume, EPOCHS))
        assert result.returncode == 2, result.stderr
        message = result.stderr.strip().splitlines()[-1]
        assert message.startswith(
            f"latentrepro train: error: disk full: cannot write {resume} (it needs "
        )
        assert "bytes are free there); nothing was replaced" in message
        assert "Traceback" not in result.stderr
        # The last good state is whole and is what a rerun continues from.
        saved = torch.load(resume, weights_only=False)["loop"]["epoch"]
        assert leftovers(small, out) == [] and not (out / "model.pt").exists()
        subprocess.run(["mount", "-o", "remount,size=64m", str(small)], check=True)
        result = run_cli(*train_args(dataset, out, resume, EPOCHS))
        assert result.returncode == 0, result.stderr
        assert f"resuming from {resume} after epoch {saved}" in result.stderr
        assert_same_weights(out / "model.pt", reference)
    finally:
        subprocess.run(["umount", str(small)], check=False)
