"""SVCCA, linear CKA and ``imgctl compare``: invariances, agreement with independent
computations, and defined behaviour (or a one-line error) on awkward inputs."""
import json
import warnings

import numpy as np
import pytest
from click.testing import CliRunner

from image_experiments.cli import main
from image_experiments.similarity import (
    SimilarityWarning,
    linear_cka,
    load_activations,
    pairwise_svcca,
    representational_multiplicity,
    svcca,
)
from irrepro.errors import UserError


def rng(seed):
    return np.random.default_rng(seed)


def orthogonal(p, seed):
    return np.linalg.qr(rng(seed).standard_normal((p, p)))[0]


def layer(n=1000, p=40, latent=10, noise=0.5, seed=0, shared=None):
    """Activations [n, p] of a ReLU layer reading ``latent`` factors (shared across layers
    when ``shared`` is given) plus independent noise: a stand-in for two seed variants."""
    factors = shared if shared is not None else rng(seed + 100).standard_normal((n, latent))
    weights = rng(seed).standard_normal((factors.shape[1], p))
    return np.maximum(factors @ weights + noise * rng(seed + 200).standard_normal((n, p)), 0)


def reference_cca(a, b, variance=0.99):
    """Textbook SVCCA written independently of the module: truncated SVD of each centred
    layer, then CCA as the singular values of C_aa^-1/2 C_ab C_bb^-1/2."""

    def reduced(x):
        x = x - x.mean(axis=0)
        u, s, _ = np.linalg.svd(x, full_matrices=False)
        share = np.cumsum(s ** 2) / np.sum(s ** 2)
        keep = int(np.argmax(share >= variance - 1e-12)) + 1
        return u[:, :keep] * s[:keep]

    def inverse_sqrt(c):
        values, vectors = np.linalg.eigh(c)
        return vectors @ np.diag(values ** -0.5) @ vectors.T

    x, y = reduced(a), reduced(b)
    c_aa, c_bb, c_ab = x.T @ x, y.T @ y, x.T @ y
    return np.linalg.svd(inverse_sqrt(c_aa) @ c_ab @ inverse_sqrt(c_bb), compute_uv=False)


# --- SVCCA: what it is invariant to -------------------------------------------------------

def test_svcca_of_a_layer_and_an_invertible_linear_map_of_it_is_1():
    # All variance lives in 6 directions of 40 neurons, each holding more than 1% of it in
    # both layers, so the 99% subspaces coincide however the map mixes the neurons.
    a = rng(1).standard_normal((800, 6)) @ orthogonal(40, 2)[:6]
    stretch = orthogonal(40, 3) @ np.diag(np.linspace(0.5, 2.0, 40)) @ orthogonal(40, 4)
    result = svcca(a, a @ stretch + 3.0)
    assert result.kept_dims == (6, 6)
    assert result.value == pytest.approx(1.0, abs=1e-10) and result.rm == -result.value


def test_svcca_of_a_full_rank_layer_and_an_invertible_map_is_1_when_all_variance_is_kept():
    a = layer()
    mixed = a @ rng(5).standard_normal((40, 40)) - 7.0
    assert svcca(a, mixed, variance=1.0).value == pytest.approx(1.0, abs=1e-9)


def test_svcca_is_unchanged_by_rotation_scaling_and_shift_at_99_percent():
    a, b = layer(seed=0), layer(seed=1)
    moved = 0.01 * a @ orthogonal(40, 6) + 5.0
    assert svcca(moved, b).value == pytest.approx(svcca(a, b).value, rel=1e-10)
    assert svcca(a, moved).value == pytest.approx(1.0, abs=1e-10)


# --- SVCCA: agreement with independent computations ---------------------------------------

def test_svcca_matches_textbook_covariance_based_cca_on_the_kept_subspaces():
    shared = rng(7).standard_normal((1500, 12))
    a, b = layer(1500, 40, seed=8, shared=shared), layer(1500, 56, seed=9, shared=shared)
    result = svcca(a, b)
    expected = reference_cca(a, b)
    assert len(result.correlations) == len(expected) == min(result.kept_dims)
    np.testing.assert_allclose(result.correlations, expected, rtol=1e-8, atol=1e-10)
    assert result.value == pytest.approx(expected[:20].mean(), rel=1e-10)
    assert 0.3 < result.value < 0.99  # related but distinct layers: a non-trivial check


def test_svcca_with_fewer_data_points_than_neurons_still_matches_textbook_cca():
    shared = rng(43).standard_normal((60, 4))
    a, b = layer(60, 100, seed=44, shared=shared), layer(60, 80, seed=45, shared=shared)
    with pytest.warns(SimilarityWarning):
        result = svcca(a, b)
    assert max(result.kept_dims) < 60
    np.testing.assert_allclose(result.correlations, reference_cca(a, b), rtol=1e-8,
                               atol=1e-10)


def test_svcca_of_independent_noise_matches_the_random_subspace_expectation():
    # For independent k_a- and k_b-dimensional subspaces of the (n - 1)-dimensional centred
    # space, E[sum of squared canonical correlations] = k_a k_b / (n - 1) exactly, and the
    # largest correlation approaches the Wachter edge sqrt(c_a(1-c_b)) + sqrt(c_b(1-c_a)).
    n = 4000
    result = svcca(rng(10).standard_normal((n, 40)), rng(11).standard_normal((n, 40)))
    k_a, k_b = result.kept_dims
    expected = k_a * k_b / (n - 1)  # sampling sd is about 3.5% of this
    assert np.sum(result.correlations ** 2) == pytest.approx(expected, rel=0.15)
    c_a, c_b = k_a / n, k_b / n
    edge = np.sqrt(c_a * (1 - c_b)) + np.sqrt(c_b * (1 - c_a))
    assert result.correlations[0] < 1.2 * edge
    assert result.value < edge


def test_the_value_is_the_mean_of_the_top_correlations_or_of_all_when_fewer():
    shared = rng(12).standard_normal((1000, 8))
    a, b = layer(shared=shared, seed=13), layer(shared=shared, seed=14)
    result = svcca(a, b, top=3)
    assert result.averaged == 3
    assert result.value == pytest.approx(result.correlations[:3].mean(), rel=1e-12)
    assert np.all(np.diff(result.correlations) <= 0)
    few = svcca(a[:, :10], b[:, :12])
    assert len(few.correlations) < 20 and few.averaged == len(few.correlations)
    assert few.value == pytest.approx(few.correlations.mean(), rel=1e-12)


# --- SVCCA: awkward inputs give defined results or one clear error ------------------------

def test_redundant_neurons_add_nothing_the_rank_decides_the_kept_dims():
    a, b = layer(p=20, seed=15), layer(p=30, seed=16)
    redundant = np.hstack([a, a[:, :5], a[:, :5] - 2 * a[:, 5:10]])  # rank 20 in 30 neurons
    plain, padded = svcca(a, b, variance=1.0), svcca(redundant, b, variance=1.0)
    assert padded.kept_dims[0] == 20
    np.testing.assert_allclose(padded.correlations, plain.correlations, rtol=1e-9)


def test_dead_neurons_are_dropped_counted_and_change_nothing():
    a, b = layer(seed=17), layer(seed=18)
    dead = np.hstack([a, np.zeros((1000, 3)), np.full((1000, 2), 4.5)])
    plain, with_dead = svcca(a, b), svcca(dead, b)
    assert with_dead.dead_neurons == (5, 0) and with_dead.neurons == (45, 40)
    assert with_dead.value == pytest.approx(plain.value, rel=1e-12)
    assert with_dead.warnings == ()  # 1000 points for 40 live neurons is enough


@pytest.mark.parametrize("make_a, message", [
    (lambda a: np.full_like(a, 2.0), "no variance: all 40 neurons are constant"),
    (lambda a: np.where(np.arange(40) == 3, np.nan, a), "1000 NaN and 0 infinite values"),
    (lambda a: np.where(np.arange(40) == 3, np.inf, a), "0 NaN and 1000 infinite values"),
    (lambda a: a[:999], "a has 999 data points (rows) but b has 1000"),
    (lambda a: a[:, 0], "must be a 2-D [data points, neurons] matrix"),
    (lambda a: a.reshape(1000, 4, 10), "must be a 2-D [data points, neurons] matrix"),
    (lambda a: a[:1], "needs at least 2 data points"),
])
def test_unusable_inputs_raise_one_line_user_errors_never_nan(make_a, message):
    a, b = layer(seed=19), layer(seed=20)
    for compute in (svcca, linear_cka):
        with pytest.raises(UserError) as error:
            compute(make_a(a), b)
        assert message in str(error.value) and "\n" not in str(error.value)


def test_too_few_data_points_per_direction_warn_and_are_recorded():
    a, b = layer(n=150, p=40, seed=21), layer(n=150, p=20, seed=22)
    expected = r"a: 150 data points for \d+ SVCCA directions of 40 live neurons"
    with pytest.warns(SimilarityWarning, match=expected):
        result = svcca(a, b)
    assert len(result.warnings) == 1 and "ratio" in result.warnings[0]
    assert np.isfinite(result.value)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SimilarityWarning)
        assert svcca(a[:, :30], b).warnings == ()  # <= 30 directions: ratio >= 5


def test_the_ratio_counts_kept_directions_so_a_wide_affine_layer_does_not_warn():
    # 512 neurons that are an affine map of 20 inputs span 20 directions: 150 points suffice
    inputs = layer(n=150, p=20, seed=46)
    wide = inputs @ rng(47).standard_normal((20, 512)) + 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error", SimilarityWarning)
        result = svcca(wide, layer(n=150, p=20, seed=48))
    assert result.warnings == () and result.kept_dims[0] <= 20


@pytest.mark.parametrize("kwargs, message", [
    (dict(variance=0.0), "variance must be in (0, 1]"),
    (dict(variance=1.5), "variance must be in (0, 1]"),
    (dict(top=0), "top must be a positive integer"),
    (dict(top=2.5), "top must be a positive integer"),
])
def test_bad_parameters_are_user_errors(kwargs, message):
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace("]", r"\]")):
        svcca(layer(seed=23), layer(seed=24), **kwargs)


# --- RM over K variants -------------------------------------------------------------------

def test_pairwise_svcca_reduces_once_and_equals_svcca_pair_by_pair():
    shared = rng(25).standard_normal((1200, 10))
    variants = [layer(1200, p, seed=26 + k, shared=shared) for k, p in enumerate([30, 40, 50, 35])]
    result = pairwise_svcca(variants, top=15)
    assert list(zip(result.pairs["i"], result.pairs["j"])) == [
        (0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    for row in result.pairs.itertuples():
        single = svcca(variants[row.i], variants[row.j], top=15)
        assert row.svcca == pytest.approx(single.value, rel=1e-12)
        assert (row.kept_i, row.kept_j) == single.kept_dims
    assert result.value == pytest.approx(result.pairs["svcca"].mean(), rel=1e-15)
    assert result.rm == -result.value
    assert representational_multiplicity(variants, top=15) == pytest.approx(result.rm)


def test_pairwise_svcca_warns_once_per_layer_and_names_it():
    small = [layer(n=100, p=40, seed=30 + k) for k in range(3)]
    with pytest.warns(SimilarityWarning) as caught:
        result = pairwise_svcca(small)
    assert len(caught) == len(result.warnings) == 3
    assert [w.split(":")[0] for w in result.warnings] == ["model 0", "model 1", "model 2"]


def test_pairwise_svcca_needs_two_layers_on_the_same_points():
    with pytest.raises(UserError, match="at least 2 activation matrices"):
        pairwise_svcca([layer()])
    with pytest.raises(UserError, match="model 0 has 1000 data points .* model 2 has 999"):
        pairwise_svcca([layer(), layer(seed=1), layer(seed=2)[:999]])


# --- linear CKA ---------------------------------------------------------------------------

def test_cka_of_a_layer_and_a_rotated_scaled_shifted_copy_is_1():
    a = layer(seed=34)
    assert linear_cka(a, -3.0 * a @ orthogonal(40, 35) + 1.0) == pytest.approx(1.0, abs=1e-12)


def test_cka_matches_the_hsic_formula_with_a_centring_matrix():
    shared = rng(36).standard_normal((300, 6))
    a, b = layer(300, 20, seed=37, shared=shared), layer(300, 25, seed=38, shared=shared)
    centring = np.eye(300) - np.ones((300, 300)) / 300
    gram_a, gram_b = a @ a.T, b @ b.T

    def hsic(x, y):
        return np.trace(x @ centring @ y @ centring)

    expected = hsic(gram_a, gram_b) / np.sqrt(hsic(gram_a, gram_a) * hsic(gram_b, gram_b))
    assert linear_cka(a, b) == pytest.approx(expected, rel=1e-10)
    assert linear_cka(b, a) == pytest.approx(expected, rel=1e-10)
    assert 0.2 < expected < 0.99


# --- imgctl compare -----------------------------------------------------------------------

@pytest.fixture
def saved(tmp_path):
    """Paths of two related layers saved as .npy [data points, neurons], and the arrays."""
    shared = rng(40).standard_normal((600, 8))
    a, b = layer(600, 30, seed=41, shared=shared), layer(600, 40, seed=42, shared=shared)
    paths = tmp_path / "a.npy", tmp_path / "b.npy"
    for path, x in zip(paths, (a, b)):
        np.save(path, x)
    return [str(p) for p in paths], (a, b)


def imgctl(*args):
    return CliRunner().invoke(main, ["compare", *args])


def test_compare_prints_a_short_svcca_summary(saved):
    paths, (a, b) = saved
    result = imgctl(*paths)
    assert result.exit_code == 0, result.output
    expected = svcca(a, b)
    assert f"SVCCA {expected.value:.4f}  (RM = {-expected.value:.4f})" in result.stdout
    assert f"kept {expected.kept_dims[0]} directions" in result.stdout
    assert f"top 20 of {len(expected.correlations)} canonical correlations" in result.stdout
    assert result.stderr == ""


def test_compare_json_is_one_object_with_the_api_numbers(saved):
    paths, (a, b) = saved
    result = imgctl(*paths, "--json", "--top", "5", "--variance", "0.95")
    record = json.loads(result.stdout)
    expected = svcca(a, b, variance=0.95, top=5)
    assert record["value"] == pytest.approx(expected.value, rel=1e-12)
    assert record["kept_dims"] == list(expected.kept_dims) and record["top"] == 5
    assert record["names"] == paths and record["warnings"] == []
    cka = json.loads(imgctl(*paths, "--metric", "cka", "--json").stdout)
    assert cka["metric"] == "cka" and cka["value"] == pytest.approx(linear_cka(a, b))


def test_compare_transpose_reads_files_stored_neurons_by_data_points(saved, tmp_path):
    paths, (a, b) = saved
    flipped = [str(tmp_path / "at.npy"), str(tmp_path / "bt.npy")]
    for path, x in zip(flipped, (a, b)):
        np.save(path, x.T)
    assert (json.loads(imgctl(*flipped, "--transpose", "--json").stdout)["value"]
            == json.loads(imgctl(*paths, "--json").stdout)["value"])
    untransposed = imgctl(*flipped)
    assert untransposed.exit_code == 2 and "data points (rows)" in untransposed.stderr


def test_compare_reports_the_ratio_warning_in_the_output_only(tmp_path):
    paths = [str(tmp_path / "a.npy"), str(tmp_path / "b.npy")]
    for k, path in enumerate(paths):
        np.save(path, layer(n=100, p=40, seed=43 + k))
    result = imgctl(*paths)
    assert result.exit_code == 0
    assert result.stdout.count("warning: ") == 2 and result.stderr == ""
    assert len(json.loads(imgctl(*paths, "--json").stdout)["warnings"]) == 2


@pytest.mark.parametrize("content, message", [
    (None, "no such file"),
    (b"not numpy at all", "not a .npy file"),
    (b"\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (50, 4), }",
     "unreadable .npy file"),
])
def test_compare_bad_files_are_one_line_errors_that_name_the_file(saved, tmp_path, content,
                                                                   message):
    paths, _ = saved
    broken = tmp_path / "broken.npy"
    if content is not None:
        broken.write_bytes(content)
    result = imgctl(paths[0], str(broken))
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"imgctl: error: {broken}: {message}")
    assert "numpy.save" in lines[0] and "Traceback" not in result.output


def test_load_activations_rejects_npz_archives(tmp_path):
    np.savez(tmp_path / "acts.npz", a=np.zeros((3, 2)))
    with pytest.raises(UserError, match="an .npz archive"):
        load_activations(tmp_path / "acts.npz")


def test_compare_help_shows_examples():
    result = imgctl("--help")
    assert result.exit_code == 0
    assert "imgctl compare seed0/fc1.npy seed1/fc1.npy" in result.output
    assert "imgctl compare a.npy b.npy --metric cka" in result.output
