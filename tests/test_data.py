"""The synthetic data models and their shuffled streams."""
import numpy as np
import pytest
from scipy.special import expit

from irrepro.streams import rng_for
from simulator import data as data_module
from simulator.bytes import ByteSampler, alias_table, bernoulli_positions, byte_distribution
from simulator.data import (
    ExampleStream,
    PairedBatches,
    evaluation_set,
    linear_model,
    quadratic_model,
    shuffle_windows,
    unpack_features,
    unpack_labels,
)

N = 2 ** 18


@pytest.fixture(scope="module", params=["linear", "quadratic"])
def sampled(request):
    model = {"linear": linear_model, "quadratic": quadratic_model}[request.param](7)
    return model, model.sample(rng_for(7, 99), N)


def test_feature_probabilities_follow_the_paper():
    j16, j4 = np.arange(1, 17), np.arange(1, 5)
    np.testing.assert_allclose(linear_model(0).probs, np.tile(6 / (j16 * np.pi) ** 2, 2))
    np.testing.assert_allclose(quadratic_model(0).probs, np.tile(90 / (j4 * np.pi) ** 4, 8))


def test_feature_frequencies_match_their_probabilities(sampled):
    model, packed = sampled
    freq = unpack_features(packed).mean(axis=0)
    sigma = np.sqrt(model.probs * (1 - model.probs) / N)
    assert np.all(np.abs(freq - model.probs) < 5 * sigma + 1e-12)


def test_features_are_independent(sampled):
    model, packed = sampled
    x = unpack_features(packed)
    joint = (x[:, 0] * x[:, 1]).mean()
    expected = model.probs[0] * model.probs[1]
    assert abs(joint - expected) < 5 * np.sqrt(expected / N)


def test_label_rate_matches_the_true_probabilities(sampled):
    model, packed = sampled
    y, p = unpack_labels(packed), model.p_true(packed)
    # Calibration in deciles of p_theta: each bin's label rate is its mean probability.
    bins = np.quantile(p, np.linspace(0, 1, 11))
    which = np.clip(np.searchsorted(bins, p, side="right") - 1, 0, 9)
    for b in range(10):
        members = which == b
        if members.sum() < 100:
            continue
        sd = np.sqrt((p[members] * (1 - p[members])).sum()) / members.sum()
        assert abs(y[members].mean() - p[members].mean()) < 5 * sd + 1e-9


def test_linear_logodds_are_x_dot_theta():
    model = linear_model(3)
    packed = model.sample(rng_for(3, 1), 1000)
    np.testing.assert_allclose(model.logodds(packed), unpack_features(packed) @ model.params,
                               rtol=1e-12, atol=1e-12)


def test_quadratic_logodds_are_x_theta_x_with_block_diagonal_lower_triangular_theta():
    model = quadratic_model(3)
    big = np.zeros((32, 32))
    for i, block in enumerate(model.params):
        assert np.all(np.triu(block, 1) == 0) and np.count_nonzero(block) == 10
        big[4 * i:4 * i + 4, 4 * i:4 * i + 4] = block
    rng = np.random.default_rng(0)
    packed = rng.integers(0, 2 ** 32, size=1000)  # all features, not only likely ones
    x = unpack_features(packed)
    np.testing.assert_allclose(model.logodds(packed), np.einsum("ni,ij,nj->n", x, big, x),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(model.p_true(packed), expit(model.logodds(packed)))


def test_theta_is_drawn_once_per_seed_from_the_three_normal_mixture():
    np.testing.assert_array_equal(linear_model(5).params, linear_model(5).params)
    assert not np.array_equal(linear_model(5).params, linear_model(6).params)
    thetas = np.concatenate([linear_model(s).params for s in range(300)])
    # Mixture of N(-2,1), N(0,1), N(2,1) with equal weights: mean 0, variance 1 + 8/3.
    assert abs(thetas.mean()) < 0.1
    assert abs(thetas.var() - (1 + 8 / 3)) < 0.25


def test_a_pairs_stream_does_not_depend_on_how_it_is_consumed():
    model = linear_model(0)
    whole = ExampleStream(model, 0, pair=3).take(200_000)
    stream = ExampleStream(model, 0, pair=3)
    pieces = np.concatenate([stream.take(n) for n in (7, 65_536, 100_000, 34_457)])
    np.testing.assert_array_equal(whole, pieces)
    other = ExampleStream(model, 0, pair=4).take(1000)
    assert not np.array_equal(whole[:1000], other)


@pytest.mark.parametrize("n, window", [(96, 32), (100, 32), (64, 1), (50, 64)])
def test_shuffle_windows_permutes_within_each_window_only(n, window):
    examples = np.arange(n)
    shuffled = shuffle_windows(examples, window, np.random.default_rng(0))
    for start in range(0, n, window):
        assert sorted(shuffled[start:start + window]) == list(examples[start:start + window])
    if window > 1:
        assert not np.array_equal(shuffled, examples)


@pytest.mark.parametrize("window, block", [(1, 2 ** 17), (4, 2 ** 17), (4, 48)])
def test_both_members_of_a_pair_see_the_same_examples_in_their_own_order(window, block):
    """Also when a window is larger than the blocks the generator hands over (block 48)."""
    batch, steps, pairs = 32, 16, 3
    feed = PairedBatches(linear_model(1), 1, pairs, window, batch, steps * batch,
                         block_examples=block)
    data = feed.take(steps)
    assert data.shape == (2 * pairs, steps, batch)
    per_window = data.reshape(2 * pairs, -1, window * batch)
    for k in range(pairs):
        a, b = per_window[2 * k], per_window[2 * k + 1]
        np.testing.assert_array_equal(np.sort(a, axis=1), np.sort(b, axis=1))
        assert not np.array_equal(a, b)  # z = 1 still permutes inside each mini-batch
    assert not np.array_equal(np.sort(per_window[0]), np.sort(per_window[2]))


def test_batches_are_served_in_any_step_counts():
    feed = PairedBatches(linear_model(1), 1, 2, 3, 32, 40 * 32, block_examples=200)
    again = PairedBatches(linear_model(1), 1, 2, 3, 32, 40 * 32)
    pieces = np.concatenate([feed.take(n) for n in (1, 5, 34)], axis=1)
    np.testing.assert_array_equal(pieces, again.take(40))


@pytest.mark.parametrize("threads", [1, 3])
def test_the_batches_do_not_depend_on_the_generator_threads(monkeypatch, threads):
    def batches():
        return PairedBatches(linear_model(1), 1, 5, 4, 8, 300 * 8, block_examples=256).take(300)

    two = batches()
    monkeypatch.setattr(data_module, "DATA_THREADS", threads)
    np.testing.assert_array_equal(batches(), two)


def test_the_evaluation_set_is_fixed_by_the_seed():
    model = linear_model(2)
    np.testing.assert_array_equal(evaluation_set(model, 2, 500), evaluation_set(model, 2, 500))


@pytest.mark.parametrize("probs", [np.tile(6 / (np.arange(1, 9) * np.pi) ** 2, 1),
                                   6 / (np.arange(9, 17) * np.pi) ** 2,
                                   np.tile(90 / (np.arange(1, 5) * np.pi) ** 4, 2)])
def test_alias_tables_give_each_byte_value_its_exact_probability(probs):
    q = byte_distribution(probs)
    assert q.sum() == pytest.approx(1.0, abs=1e-15)
    np.testing.assert_allclose(implied_distribution(*alias_table(q)), q, rtol=1e-12, atol=1e-18)
    sampler = ByteSampler(probs)
    if sampler.sparse:  # drawn only where the byte is non-zero: q given v != 0
        implied = implied_distribution(sampler.accept, sampler.alias)
        assert implied[0] == 0
        np.testing.assert_allclose(implied[1:], q[1:] / (1 - q[0]), rtol=1e-12, atol=1e-18)


@pytest.mark.parametrize("probs", [np.tile(6 / (np.arange(1, 9) * np.pi) ** 2, 1),
                                   6 / (np.arange(9, 17) * np.pi) ** 2])
def test_a_draw_keeps_its_slot_when_its_53_bit_uniform_is_below_the_slots_acceptance(probs):
    sampler = ByteSampler(probs)
    raw = rng_for(0, 7).bit_generator.random_raw(2 ** 16)
    # words whose uniform sits exactly on a slot's acceptance: the comparison is strict
    slots = np.arange(256, dtype=np.uint64)
    edge = np.floor(sampler.accept * 2.0 ** 53).astype(np.uint64)
    raw = np.concatenate([raw, (edge << np.uint64(11)) | slots,
                          ((edge - np.uint64(1)) << np.uint64(11)) | slots])
    slot = (raw & np.uint64(255)).astype(np.intp)
    u = (raw >> np.uint64(11)).astype(np.float64) * 2.0 ** -53
    expected = np.where(u < sampler.accept[slot], slot, sampler.alias[slot]).astype(np.uint8)

    np.testing.assert_array_equal(sampler.values_of(raw), expected)


def numpy_sample(model, rng, n):
    """DataModel.sample written with NumPy operations, one pass each: the same random words
    in the same order, the label from u < 1 / (1 + exp(-logodds))."""
    packed = np.zeros(n, dtype=np.int64)
    as_bytes = packed.view(np.uint8).reshape(n, 8)
    logodds = np.zeros(n)
    for b, sampler in enumerate(model.bytes):
        if sampler.sparse:
            where = bernoulli_positions(rng, sampler.nonzero, n)
        else:
            where = np.arange(n)
        raw = rng.bit_generator.random_raw(where.size)
        slot = (raw & np.uint64(255)).astype(np.intp)
        u = (raw >> np.uint64(11)).astype(np.float64) * 2.0 ** -53
        values = np.where(u < sampler.accept[slot], slot, sampler.alias[slot]).astype(np.uint8)
        as_bytes[where, b] = values
        if sampler.sparse:
            logodds += model.tables[b][0]
            logodds[where] += model.tables[b][values] - model.tables[b][0]
        else:
            logodds += model.tables[b][values]
    u = (rng.bit_generator.random_raw(n) >> np.uint64(11)).astype(np.float64) * 2.0 ** -53
    as_bytes[:, 4] = u * (np.exp(-logodds) + 1.0) < 1.0
    return packed


@pytest.mark.parametrize("make", [linear_model, quadratic_model])
@pytest.mark.parametrize("n", [1, 7, 1000, 2 ** 16 + 3])
def test_the_compiled_sampler_draws_bit_for_bit_what_numpy_arithmetic_draws(make, n):
    model = make(3)
    for seed in range(3):
        np.testing.assert_array_equal(model.sample(rng_for(seed, n), n),
                                      numpy_sample(model, rng_for(seed, n), n))


def implied_distribution(accept, alias):
    """P(v) of an alias table: slot v kept, or a slot aliased to v taken, over 256 slots."""
    return (accept + np.bincount(alias, weights=1 - accept, minlength=256)) / 256
