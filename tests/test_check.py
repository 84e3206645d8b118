"""`imgctl data check`'s quick check: presence, sizes and headers name a damaged file without
reading the images; what only a full load can see (a well-formed pickle of the wrong object,
a truncated archive) is caught by --load."""
import pytest

from image_experiments.check import check_datasets, full_check, quick_check

import datafiles as files

pytestmark = pytest.mark.usefixtures("no_real_data")


@pytest.mark.parametrize("name, write", [
    ("mnist", files.write_mnist),
    ("fashion_mnist", lambda root: files.write_fashion(root / "fashion-mnist")),
    ("cifar9", files.write_cifar), ("cifar9", lambda root: files.write_cifar(root, archive=True)),
    ("svhn", files.write_svhn), ("stl9", files.write_stl)])
def test_sound_files_pass_with_their_size_and_place(tmp_path, name, write):
    write(tmp_path)
    check = quick_check(name, tmp_path)
    assert check.status == "ok", check.message
    assert check.size > 0 and check.where.startswith(str(tmp_path))


@pytest.mark.parametrize("name, write, damage, culprit", [
    ("mnist", files.write_mnist, files.truncate, "mnist.npz"),
    ("fashion_mnist", files.write_fashion, files.damage_idx_header, "train-images-idx3-ubyte.gz"),
    ("fashion_mnist", files.write_fashion, files.damage_idx_size, "t10k-labels-idx1-ubyte.gz"),
    ("fashion_mnist", files.write_fashion, files.truncate, "train-labels-idx1-ubyte.gz"),
    ("cifar9", files.write_cifar, files.truncate, "cifar-10-batches-py/data_batch_3"),
    ("stl9", files.write_stl, files.truncate, "stl10_binary/train_X.bin"),
])
def test_a_bad_header_or_size_is_named_without_loading(tmp_path, name, write, damage, culprit):
    write(tmp_path / "fashion-mnist" if name == "fashion_mnist" else tmp_path)
    damage(tmp_path / ("fashion-mnist/" + culprit if name == "fashion_mnist" else culprit))
    check = quick_check(name, tmp_path)
    assert check.status == "damaged"
    assert culprit in check.where and "\n" not in check.message
    assert f"imgctl data fetch {name}" in check.message


def test_what_headers_cannot_show_a_full_load_finds(tmp_path):
    files.write_cifar(tmp_path)
    files.evil_pickle(tmp_path / "cifar-10-batches-py" / "test_batch")
    assert quick_check("cifar9", tmp_path).status == "ok"
    loaded = full_check("cifar9", tmp_path)
    assert loaded.status == "damaged" and "test_batch" in loaded.where


def test_a_full_load_reports_the_split_sizes_and_shape(tmp_path):
    files.write_mnist(tmp_path)
    [check] = check_datasets(["mnist"], tmp_path, load=True)
    assert (check.train, check.test, check.image_shape) == (6, 4, (28, 28, 1))


def test_missing_data_sets_are_missing_either_way(tmp_path):
    assert [c.status for c in check_datasets(["svhn"], tmp_path)] == ["missing"]
    assert [c.status for c in check_datasets(["svhn"], tmp_path, load=True)] == ["missing"]
