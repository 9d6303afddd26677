"""Progress of long stages on the console, and the full record of a job in its log.

Workflow rules run ``latentrepro --log LOG <stage> ...``. :func:`logging_to` points the
process's standard output and error (file descriptors 1 and 2, so the output of C extensions
too) at LOG, which keeps the full record, and keeps the terminal for progress lines, warnings
and errors (:func:`note`), each prefixed with the job's name since parallel jobs share it.

:func:`track` wraps the loop of a long stage (training epochs, evaluation batches, Langevin and
SGLD chains, FID features). A loop that ends within the reporting interval says nothing, so
inner loops (a Langevin chain inside a training step) cost nothing to track; a longer one
reports every interval what it has done, its rate and the time left, and when it ends. The
interval is 30 s, or ``$LATENTREPRO_PROGRESS_SECONDS``. Without ``--log``, on a terminal, a loop
shows a tqdm bar instead once it has run for 2 s.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, TypeVar

from tqdm import tqdm

T = TypeVar("T")

INTERVAL_ENV = "LATENTREPRO_PROGRESS_SECONDS"
DEFAULT_INTERVAL_S = 30.0


class _Console:
    """Where user-facing lines go while the standard streams are redirected to a log."""

    stream: IO[str] | None = None
    label: str = ""


def interval() -> float:
    """Seconds between progress lines of one loop."""
    return float(os.environ.get(INTERVAL_ENV, DEFAULT_INTERVAL_S))


@contextlib.contextmanager
def logging_to(path: Path, label: str, command: str = "") -> Iterator[None]:
    """Send file descriptors 1 and 2 to ``path`` for the block; :func:`note` and :func:`track`
    lines also reach the original standard error, prefixed ``[label]``.

    The log is appended to, each run opening with a dated line and ``command``, so the log of
    a job resumed after a kill holds every attempt.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    console = os.fdopen(os.dup(2), "w", buffering=1, encoding="utf-8", errors="replace")
    log = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    streams = sys.stdout, sys.stderr
    # Python's streams on the redirected descriptors (they may have been replaced, e.g. by a
    # test runner), line-buffered so that the log is in the order things happened.
    sys.stdout, sys.stderr = (
        open(fd, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
        for fd in (1, 2)
    )
    _Console.stream, _Console.label = console, label
    print(f"=== {time.strftime('%Y-%m-%d %H:%M:%S')} {command}".rstrip(), flush=True)
    try:
        yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            stream.close()
        sys.stdout, sys.stderr = streams
        _Console.stream = None
        console.close()
        for fd, original in zip((1, 2), saved, strict=True):
            os.dup2(original, fd)
            os.close(original)


def note(message: str, console: bool = True) -> None:
    """A line for the user: into the log (standard error) and, under :func:`logging_to` and
    unless ``console`` is False, onto the console."""
    print(message, file=sys.stderr, flush=True)
    if console and _Console.stream is not None:
        _Console.stream.write(f"[{_Console.label}] {message}\n")


def track(
    iterable: Iterable[T],
    desc: str,
    total: int | None = None,
    unit: str = "it",
    enabled: bool = True,
) -> Iterator[T]:
    """Yield the items of ``iterable``, reporting progress if the loop runs long (see module)."""
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)  # type: ignore[arg-type]
    if not enabled:
        yield from iterable
        return
    if _Console.stream is None and sys.stderr.isatty():
        yield from tqdm(
            iterable, desc=desc, total=total, unit=unit, delay=2.0, leave=False, mininterval=1.0
        )
        return
    every = interval()
    start = last = time.monotonic()
    done, reported = 0, False
    for item in iterable:
        yield item
        done += 1
        now = time.monotonic()
        if now - last >= every:
            note(_line(desc, done, total, unit, now - start))
            last, reported = now, True
    if reported:
        note(f"{desc}: {done} {unit} done in {_duration(time.monotonic() - start)}")


def _line(desc: str, done: int, total: int | None, unit: str, elapsed: float) -> str:
    rate = done / elapsed if elapsed > 0 else float("inf")
    if total is None:
        return f"{desc}: {done} {unit}, {rate:.3g} {unit}/s"
    left = (total - done) / rate if rate > 0 else float("inf")
    return (
        f"{desc}: {done}/{total} {unit} ({100 * done / max(total, 1):.0f}%), "
        f"{rate:.3g} {unit}/s, {_duration(left)} left"
    )


def _duration(seconds: float) -> str:
    if seconds == float("inf"):
        return "?"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"
