"""imgctl data fetch: downloads (from file:// URLs, no network) checked against their sha256,
kept when present, refused without a trace when damaged, and placed where loading looks."""
import dataclasses
import hashlib

import pytest
from click.testing import CliRunner

from image_experiments import registry
from image_experiments.cli import main
from image_experiments.datasets import load_dataset
from image_experiments.fetch import fetch
from image_experiments.locations import DatasetCorrupt
from image_experiments.registry import Download
from irrepro.errors import UserError

from datafiles import write_mnist

pytestmark = pytest.mark.usefixtures("no_real_data")


def imgctl(*args):
    return CliRunner().invoke(main, list(map(str, args)))


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist", "cifar9", "svhn", "stl9"])
def test_fetched_files_land_where_the_loader_looks(tmp_path, name):
    for download in registry.DATASETS[name].downloads:
        (tmp_path / download.target).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / download.target).write_bytes(b"")
    with pytest.raises(DatasetCorrupt):  # found, then found empty: not DatasetMissing
        load_dataset(name, tmp_path)


@pytest.fixture
def fixture_download(tmp_path, monkeypatch):
    """mnist's download pointed at a local npz via file://; returns a setter of its sha256."""
    source = write_mnist(tmp_path / "server") / "mnist.npz"
    sha256 = hashlib.sha256(source.read_bytes()).hexdigest()

    def point(checksum=sha256):
        spec = dataclasses.replace(registry.DATASETS["mnist"], downloads=(
            Download(source.as_uri(), checksum, "mnist.npz"),))
        monkeypatch.setitem(registry.DATASETS, "mnist", spec)
        return sha256

    return point


def test_fetch_verifies_the_checksum_then_keeps_the_file(tmp_path, fixture_download):
    sha256 = fixture_download()
    target = tmp_path / "data"
    [first] = fetch("mnist", target, progress=False)
    assert first.downloaded and first.sha256 == sha256 and first.path == target / "mnist.npz"
    assert len(load_dataset("mnist", target).x_train) == 6
    [again] = fetch("mnist", target, progress=False)
    assert not again.downloaded
    result = imgctl("data", "fetch", "mnist", "--data-dir", target)
    assert result.exit_code == 0, result.output
    assert f"already present: {target / 'mnist.npz'} (sha256 verified)" in result.output


def test_fetch_refuses_a_bad_checksum_and_leaves_nothing(tmp_path, fixture_download):
    fixture_download("0" * 64)
    with pytest.raises(UserError, match="differs from the published 0000"):
        fetch("mnist", tmp_path / "data", progress=False)
    assert list((tmp_path / "data").iterdir()) == []
    result = imgctl("data", "fetch", "mnist", "--data-dir", tmp_path / "data")
    assert result.exit_code == 2 and "differs from the published" in result.output


def test_fetch_into_the_keras_cache_prints_an_unpublished_checksum(tmp_path,
                                                                   fixture_download):
    sha256 = fixture_download(None)
    result = imgctl("data", "fetch", "mnist")
    assert result.exit_code == 0, result.output
    cached = tmp_path / "home" / ".keras" / "datasets" / "mnist.npz"
    assert f"downloaded: {cached} (sha256 {sha256} (no published checksum" in result.output
    assert len(load_dataset("mnist").x_train) == 6


def test_fetch_reports_an_unreachable_url_in_one_line(tmp_path, monkeypatch):
    spec = dataclasses.replace(registry.DATASETS["svhn"], downloads=(
        Download((tmp_path / "nowhere.mat").as_uri(), None, "train_32x32.mat"),))
    monkeypatch.setitem(registry.DATASETS, "svhn", spec)
    with pytest.raises(UserError, match="could not download file://.*nowhere.mat") as caught:
        fetch("svhn", tmp_path / "data", progress=False)
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "data" / "train_32x32.mat").exists()


