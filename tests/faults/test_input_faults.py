"""Bad input under faults: NaN and infinite settings, truncated downloads and mirror files, a
damaged checkpoint. Each is refused with a message naming what is wrong, and leaves nothing
half-written that a later step would trust."""

from __future__ import annotations

import gzip
import http.server
import io
import shutil
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from latentrepro.config import REPO_ROOT
from latentrepro.data import registry
from latentrepro.data.download import DataUnavailableError, fetch_dataset
from latentrepro.data.registry import DatasetSpec, RemoteFile
from tests.faults.conftest import leftovers, run_cli, train_args

pytestmark = pytest.mark.faults


@pytest.mark.parametrize(("text", "shown"), [(".nan", "nan"), (".inf", "inf"), ("-.inf", "-inf")])
def test_a_non_finite_setting_stops_the_run_naming_the_key(tmp_path, text, shown):
    params = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
    bad = tmp_path / "params.yaml"
    bad.write_text((REPO_ROOT / "params.yaml").read_text().replace("lr: 0.5,", f"lr: {text},", 1))
    assert yaml.safe_load(bad.read_text()) != params
    result = run_cli("check-params", "--params", bad)
    assert result.returncode == 2
    assert f"models.vae.optimizer.lr: {shown} " in result.stderr
    result = run_cli("check-params", "--set", f"profiles.smoke.evaluate.au_threshold={text}")
    assert result.returncode == 2
    assert f"profiles.smoke.evaluate.au_threshold: {shown} " in result.stderr


def test_the_workflow_refuses_a_nan_setting_before_any_job(tmp_path):
    text = (REPO_ROOT / "params.yaml").read_text().replace("lr: 0.5,", "lr: .nan,", 1)
    (tmp_path / "params.yaml").write_text(text)
    shutil.copy(REPO_ROOT / "overrides.yaml", tmp_path)  # the Snakefile's second configfile
    result = subprocess.run(
        [Path(sys.executable).parent / "snakemake", "-n", "--cores", "1",
         "--snakefile", REPO_ROOT / "Snakefile", "--directory", tmp_path],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode != 0
    assert "models.vae.optimizer.lr: nan is not a finite number" in result.stderr + result.stdout
    assert not (tmp_path / "data").exists() and not (tmp_path / "results").exists()


@pytest.fixture
def short_server() -> Iterator[str]:
    """An HTTP server that announces 2,000 bytes of every file and closes after half."""

    class Short(http.server.BaseHTTPRequestHandler):
        body: bytes = b""

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(2 * len(Short.body)))
            self.end_headers()
            self.wfile.write(Short.body)

        def log_message(self, *args: object) -> None:
            pass

    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("data/train.txt", "a b c\n" * 300)
    Short.body = archive.getvalue()[:1000]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Short)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.mark.parametrize("member", [None, "data/train.txt"])
def test_a_download_cut_short_is_refused_and_nothing_is_kept(
    tmp_path, monkeypatch, short_server, member
):
    # No checksum to catch it (as for Yelp, whose files the registry cannot verify).
    url = f"{short_server}/train.{'zip' if member else 'txt'}"
    spec = DatasetSpec(
        name="cut", kind="text", description="", license="", homepage="", citation="",
        files=(RemoteFile("train.txt", url, None, member=member),), mirror_dir="cut",
        parser=lambda raw: {},
    )  # fmt: skip
    monkeypatch.setitem(registry.REGISTRY, "cut", spec)
    root = tmp_path / "raw"
    with pytest.raises(DataUnavailableError) as err:
        fetch_dataset("cut", root, None, progress=False)
    assert f"downloading it from {url} failed: TruncatedTransferError: " in str(err.value)
    assert "the transfer ended after 1,000 of 2,000 bytes" in str(err.value)
    assert not (root / "cut").exists()
    cache = root / ".cache"  # no cut archive is cached for reuse
    assert not cache.exists() or not any(cache.iterdir())
    assert leftovers(root) == []


def test_a_truncated_mirror_file_is_refused_through_the_cli(tmp_path):
    mirror = tmp_path / "mirror" / "ptb"
    mirror.mkdir(parents=True)
    data = gzip.compress(b"the cat sat on the mat\n" * 2000)
    (mirror / "ptb.train.txt.gz").write_bytes(data[: len(data) // 2])
    root = tmp_path / "raw"
    result = run_cli("download", "ptb", "--root", root, "--mirror", tmp_path / "mirror")
    assert result.returncode == 2
    assert f"cannot decompress mirror file {mirror / 'ptb.train.txt.gz'}" in result.stderr
    assert not (root / "ptb").exists() and leftovers(root) == []


def test_a_damaged_checkpoint_is_named_and_no_metrics_are_written(dataset, tmp_path):
    out = tmp_path / "run"
    assert run_cli(*train_args(dataset, out, tmp_path / "r.pt", 1)).returncode == 0
    model = out / "model.pt"
    model.write_bytes(model.read_bytes()[:5000])
    settings = '{"device": "cpu", "evaluate": {"iw_samples": 2, "batch_size": 50}}'
    result = run_cli(
        "evaluate", "--checkpoint", model, "--data", dataset, "--settings", settings,
        "--seed", 0, "--manifest", dataset.parents[1] / "raw" / "synthetic_text" / "manifest.json",
        "--out", tmp_path / "m.json", "--latents", tmp_path / "l.pt",
    )  # fmt: skip
    assert result.returncode == 2
    assert f"error: {model} cannot be read (" in result.stderr
    assert "5,000 bytes): it is truncated or damaged. Delete it and rerun" in result.stderr
    assert not (tmp_path / "m.json").exists() and not (tmp_path / "l.pt").exists()
