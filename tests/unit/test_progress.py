"""Progress lines of long loops, and --log: the full record in the log, progress on the console."""

from __future__ import annotations

import os

import pytest

from latentrepro import progress
from latentrepro.cli import job_label, main
from latentrepro.progress import logging_to, note, track


def test_a_short_loop_says_nothing(monkeypatch, capsys):
    monkeypatch.setenv(progress.INTERVAL_ENV, "3600")
    assert list(track(range(5), "steps")) == [0, 1, 2, 3, 4]
    assert capsys.readouterr().err == ""


def test_a_long_loop_reports_counts_and_its_end(monkeypatch, capsys):
    monkeypatch.setenv(progress.INTERVAL_ENV, "0")
    assert list(track(iter("abcd"), "epoch 1/2", total=4, unit="batches")) == list("abcd")
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(" (")[0] for line in lines[:4]] == [
        f"epoch 1/2: {i}/4 batches" for i in range(1, 5)
    ]
    assert "(100%)" in lines[3] and lines[3].endswith("0m00s left")
    assert lines[4].startswith("epoch 1/2: 4 batches done in ")


def test_a_loop_of_unknown_length_reports_counts(monkeypatch, capsys):
    monkeypatch.setenv(progress.INTERVAL_ENV, "0")
    list(track((i for i in range(2)), "chains", unit="chains"))
    assert capsys.readouterr().err.splitlines()[1].startswith("chains: 2 chains, ")


def test_a_disabled_loop_says_nothing(monkeypatch, capsys):
    monkeypatch.setenv(progress.INTERVAL_ENV, "0")
    assert list(track(range(3), "x", enabled=False)) == [0, 1, 2]
    assert capsys.readouterr().err == ""


def test_the_log_gets_everything_and_the_console_the_notes(tmp_path, capfd, monkeypatch):
    monkeypatch.setenv(progress.INTERVAL_ENV, "0")
    log = tmp_path / "logs" / "train" / "job.log"
    with logging_to(log, "train/job", "latentrepro train"):
        print("an epoch summary")
        os.write(2, b"from C code\n")
        note("warning: something to see")
        list(track(range(1), "epoch 1/1", unit="batches"))
    console = capfd.readouterr()
    record = log.read_text()
    assert record.startswith("=== ") and "latentrepro train\n" in record
    for line in ("an epoch summary", "from C code", "warning: something to see", "epoch 1/1: 1/1"):
        assert line in record
    assert console.out == ""
    assert "an epoch summary" not in console.err and "from C code" not in console.err
    assert "[train/job] warning: something to see\n" in console.err
    assert "[train/job] epoch 1/1: 1/1 batches (100%)" in console.err
    print("after")  # the streams are back
    assert capfd.readouterr().out == "after\n"


def test_a_second_run_appends_to_the_log(tmp_path):
    log = tmp_path / "run.log"
    for attempt in ("first", "second"):
        with logging_to(log, "x"):
            print(attempt)
    assert log.read_text().count("=== ") == 2
    assert log.read_text().index("first") < log.read_text().index("second")


@pytest.mark.parametrize(
    ("log", "label"),
    [("logs/train/ptb/vae/seed0.log", "train/ptb/vae/seed0"), ("/tmp/x/eval.log", "evaluate/eval")],
)
def test_the_job_label_comes_from_the_log_path(log, label):
    from pathlib import Path

    assert job_label("evaluate", Path(log)) == label


def test_an_error_reaches_the_console_and_the_log(tmp_path, capfd):
    log = tmp_path / "logs" / "check.log"
    code = main(["--log", str(log), "check-params", "--set", "models.vae.optimizer.lr=.nan"])
    assert code == 2
    err = capfd.readouterr().err
    assert "[check] latentrepro check-params: error: invalid params.yaml:" in err
    assert "models.vae.optimizer.lr: nan is not a finite number" in log.read_text()


def test_an_unexpected_error_keeps_its_traceback_in_the_log(tmp_path, capfd, monkeypatch):
    import latentrepro.cli as cli

    def broken(args):
        raise RuntimeError("something deep went wrong")

    monkeypatch.setattr(cli, "cmd_check_params", broken)
    log = tmp_path / "logs" / "check.log"
    assert main(["--log", str(log), "check-params"]) == 1
    err = capfd.readouterr().err
    assert f"RuntimeError: something deep went wrong (traceback in {log})" in err
    assert "Traceback (most recent call last)" in log.read_text()
    assert "Traceback" not in err
