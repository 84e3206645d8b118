"""OOD sets: each transform does what its name says, deterministically given a seed, and a
missing cross-data set is skipped with a note."""
import numpy as np
import pytest
from matplotlib.colors import rgb_to_hsv

from image_experiments import transforms as t


def images(n=200, size=8, channels=1, seed=0):
    return np.random.default_rng(seed).random((n, size, size, channels)).astype(np.float32)


def test_xflip_mirrors_about_90_percent_of_the_images_left_to_right():
    x = images(2000)
    out = t.xflip(x, np.random.default_rng(0))
    flipped = np.all(out == x[:, :, ::-1], axis=(1, 2, 3))
    kept = np.all(out == x, axis=(1, 2, 3))
    assert np.all(flipped ^ kept)  # each image exactly mirrored or exactly unchanged
    assert abs(flipped.mean() - 0.9) < 0.03  # binomial sd at n=2000: 0.007


def test_rotating_by_90_degrees_is_a_counter_clockwise_quarter_turn():
    x = images(3, size=8, channels=3)
    np.testing.assert_allclose(t.rotate(x, [90, 90, 90]), np.rot90(x, axes=(1, 2)), atol=1e-5)
    np.testing.assert_allclose(t.rotate(x, [0, 0, 0]), x, atol=1e-6)


def test_rotation_angles_stay_in_their_range_and_cover_it():
    assert t.ROTATION_RANGES == ((0, 20), (10, 30), (20, 40), (30, 50), (40, 60), (50, 70),
                                 (60, 80), (70, 90), (80, 100), (90, 110))
    angles = t.rotation_angles(5000, np.random.default_rng(0), 30, 50)
    assert angles.min() >= 30 and angles.max() <= 50
    assert angles.min() < 30.1 and angles.max() > 49.9


def test_rotation_moves_content_by_the_drawn_angle():
    # a bright dot right of the centre ends up above it after +90 degrees
    x = np.zeros((1, 9, 9, 1), np.float32)
    x[0, 4, 7] = 1.0
    out = t.rotate(x, [90])
    assert out[0, 1, 4, 0] == pytest.approx(1.0, abs=1e-5)


def test_pixelate_makes_2x2_blocks_constant_and_keeps_their_means():
    x = images(5, size=8, channels=3)
    out = t.pixelate(x)
    blocks = out.reshape(5, 4, 2, 4, 2, 3)
    assert np.all(blocks == blocks[:, :, :1, :, :1])
    np.testing.assert_allclose(blocks[:, :, 0, :, 0], x.reshape(5, 4, 2, 4, 2, 3)
                               .mean(axis=(2, 4)), rtol=1e-6)
    with pytest.raises(ValueError, match="divisible by 2"):
        t.pixelate(images(1, size=7))


def test_jitter_brightness_factors_lie_in_0_7_to_1_3_by_default():
    x = images(2000) * 0.7  # x * 1.3 stays below 1: no clipping, the factor is exact
    out = t.color_jitter(x, np.random.default_rng(0))
    factor = out.sum(axis=(1, 2, 3)) / x.sum(axis=(1, 2, 3))
    np.testing.assert_allclose(out, x * factor[:, None, None, None], rtol=1e-5)
    assert factor.min() >= 0.7 - 1e-6 and factor.max() <= 1.3 + 1e-6
    assert factor.min() < 0.71 and factor.max() > 1.29  # the whole range, both sides of 1
    assert abs(np.mean(factor > 1) - 0.5) < 0.05
    # the jitter OOD set of the default sweep is this reading
    same = t.transformed_sets(x, np.zeros(len(x), int), seed=0)[1].x
    np.testing.assert_array_equal(same, t.jitter_set(x, t.stream(0, "jitter")))
    factor = same.sum(axis=(1, 2, 3)) / x.sum(axis=(1, 2, 3))
    assert factor.min() >= 0.7 - 1e-6 and factor.max() <= 1.3 + 1e-6


def test_brightened_pixels_are_clipped_to_1():
    out = t.color_jitter(np.ones((50, 4, 4, 1), np.float32), np.random.default_rng(0))
    assert out.max() == 1.0 and out.min() >= 0.7 - 1e-6


def test_the_darkening_reading_scales_brightness_by_a_factor_in_0_to_0_3():
    x = images(500)
    out = t.jitter_set(x, np.random.default_rng(0), "darken")
    factor = out.sum(axis=(1, 2, 3)) / x.sum(axis=(1, 2, 3))
    np.testing.assert_allclose(out, x * factor[:, None, None, None], rtol=1e-5)
    assert factor.min() >= 0 and factor.max() <= 0.3 and factor.max() > 0.29


@pytest.mark.parametrize("reading, low, high", [("torchvision", 0.7, 1.3), ("darken", 0, 0.3)])
def test_colour_jitter_shifts_hue_by_at_most_0_1_and_scales_value(reading, low, high):
    x = images(300, channels=3) * 0.7
    out = t.jitter_set(x, np.random.default_rng(1), reading)
    before, after = rgb_to_hsv(x), rgb_to_hsv(np.clip(out, 0, 1))
    shift = np.mod(after[..., 0] - before[..., 0] + 0.5, 1.0) - 0.5  # signed, on the circle
    per_image = shift.reshape(300, -1)
    solid = before[..., 1].reshape(300, -1) > 0.2  # hue is meaningful where saturated
    medians = np.array([np.median(s[m]) for s, m in zip(per_image, solid)])
    assert np.abs(medians).max() <= 0.1 + 1e-3 and medians.std() > 0.04
    value = after[..., 2].max(axis=(1, 2)) / before[..., 2].max(axis=(1, 2))
    assert value.min() >= low - 1e-5 and value.max() <= high + 1e-5


def test_svhn_trains_grey_28x28_and_other_sets_keep_their_shape():
    rgb = (np.random.default_rng(0).random((5, 32, 32, 3)) * 255).astype(np.uint8)
    grey = t.training_images("svhn", rgb)
    assert grey.shape == (5, 28, 28, 1) and grey.dtype == np.float32
    np.testing.assert_allclose(grey, t.match_shape(t.to_float(rgb), (28, 28, 1)), atol=1e-6)
    assert t.training_images("cifar9", rgb).shape == (5, 32, 32, 3)
    np.testing.assert_array_equal(t.training_images("cifar9", rgb), t.to_float(rgb))


def test_ood_sets_are_deterministic_given_the_seed():
    x, y = images(50, channels=3), np.arange(50) % 10
    first, again = t.transformed_sets(x, y, seed=0), t.transformed_sets(x, y, seed=0)
    other = t.transformed_sets(x, y, seed=1)
    assert [s.name for s in first] == ["xflip", "jitter", "pixelate"] + [
        f"rot{lo}-{hi}" for lo, hi in t.ROTATION_RANGES]
    assert all(np.array_equal(a.x, b.x) for a, b in zip(first, again))
    assert not np.array_equal(first[1].x, other[1].x)  # jitter
    assert all(np.array_equal(s.y, y) and s.x.dtype == np.float32 for s in first)


def test_a_missing_cross_data_set_is_skipped_with_a_note(tmp_path, monkeypatch):
    monkeypatch.setenv("IRREPRO_DATA", str(tmp_path))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    x, y = images(10, size=28), np.arange(10)
    sets, notes = t.ood_sets("mnist", x, y, seed=0, data_dir=tmp_path)
    assert "svhn" not in [s.name for s in sets] and len(sets) == 13
    assert len(notes) == 1 and notes[0].startswith("svhn files not found")
    sets, notes = t.ood_sets("digits", images(10), y, seed=0)  # digits has no cross-data set
    assert len(sets) == 13 and notes == []


def test_cross_data_images_are_matched_to_the_training_images_shape():
    svhn_like = images(4, size=32, channels=3)
    out = t.match_shape(svhn_like, (28, 28, 1))
    assert out.shape == (4, 28, 28, 1) and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 1
    flat = t.match_shape(np.full((1, 32, 32, 3), [1.0, 0.0, 0.0], np.float32), (28, 28, 1))
    np.testing.assert_allclose(flat, 0.299, atol=1e-5)  # luma of pure red
