"""A user's own data set in place of a registered one: an .npz or a folder of class folders,
loaded exactly, with one-line errors, and swept end to end like a preset."""
import numpy as np
import pytest
from click.testing import CliRunner

from image_experiments.cli import main
from image_experiments.datasets import load_dataset
from image_experiments.user_data import is_user_dataset
from irrepro.errors import UserError


def digits_npz(path, n_train=200, n_test=60):
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = np.rint(bunch.images * (255 / 16)).astype(np.uint8)
    np.savez(path, x_train=images[:n_train], y_train=bunch.target[:n_train],
             x_test=images[n_train:n_train + n_test],
             y_test=bunch.target[n_train:n_train + n_test])
    return images[:n_train], bunch.target[:n_train]


def test_an_npz_loads_with_a_channel_axis_and_its_labels(tmp_path):
    x, y = digits_npz(tmp_path / "mine.npz")
    data = load_dataset(str(tmp_path / "mine.npz"))
    assert data.x_train.shape == (200, 8, 8, 1) and data.x_test.shape == (60, 8, 8, 1)
    np.testing.assert_array_equal(data.x_train[..., 0], x)
    np.testing.assert_array_equal(data.y_train, y)
    assert data.class_names == tuple(str(c) for c in range(10))


def test_float_pixels_in_0_1_are_taken_and_others_refused(tmp_path):
    x = np.linspace(0, 1, 4 * 6 * 6).reshape(4, 6, 6)
    np.savez(tmp_path / "f.npz", x_train=x, y_train=[0, 1, 0, 1], x_test=x, y_test=[1, 0, 1, 0])
    assert load_dataset(str(tmp_path / "f.npz")).x_train.max() == 255
    np.savez(tmp_path / "bad.npz", x_train=x * 3, y_train=[0, 1, 0, 1], x_test=x,
             y_test=[1, 0, 1, 0])
    with pytest.raises(UserError, match="neither uint8 nor floats in"):
        load_dataset(str(tmp_path / "bad.npz"))
    np.savez(tmp_path / "short.npz", x_train=x, y_train=[0, 1], x_test=x, y_test=[1, 0, 1, 0])
    with pytest.raises(UserError, match="y_train must hold one integer label"):
        load_dataset(str(tmp_path / "short.npz"))


def test_a_folder_of_class_folders_splits_the_last_fifth_of_each_class_off(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for name in ("cat", "dog"):
        (tmp_path / "pets" / name).mkdir(parents=True)
        for i in range(5):
            pixels = rng.integers(0, 256, (6, 6, 3), np.uint8)
            Image.fromarray(pixels).save(tmp_path / "pets" / name / f"{i:02d}.png")
    data = load_dataset(str(tmp_path / "pets"))
    assert data.class_names == ("cat", "dog")
    assert data.x_train.shape == (8, 6, 6, 3) and data.x_test.shape == (2, 6, 6, 3)
    np.testing.assert_array_equal(data.y_test, [0, 1])
    last_dog = np.asarray(Image.open(tmp_path / "pets" / "dog" / "04.png"))
    np.testing.assert_array_equal(data.x_test[1], last_dog)


def test_a_registered_name_is_never_a_user_data_set(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "digits").mkdir()
    assert not is_user_dataset("digits") and is_user_dataset(str(tmp_path / "digits"))


def test_imgctl_sweeps_a_user_npz_like_a_preset(tmp_path):
    digits_npz(tmp_path / "mine.npz", n_train=400, n_test=120)
    result = CliRunner().invoke(main, ["sweep", str(tmp_path / "mine.npz"), "--smoke",
                                       "--regime", "lr", "--no-pseudo-max",
                                       "--target-accuracy", "0.3", "--out", str(tmp_path / "r"),
                                       "--no-progress"])
    assert result.exit_code == 0, result.output
    import pandas as pd

    strategies = pd.read_csv(tmp_path / "r" / "strategies.csv")
    assert set(strategies.dataset) == {str(tmp_path / "mine.npz")}
    assert (strategies.metric == "pm").any()
