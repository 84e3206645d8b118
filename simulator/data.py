"""Synthetic sparse binary data (Snapp & Shamir, section 2 and 6) and its shuffled streams.

An example is packed into one int64: bits 0..31 are the 32 binary features, bit 32 is the
label (1 for y = +1, 0 for y = -1). The true log-odds of both data models are sums of
per-byte lookup tables, because the linear model is a sum over features and the quadratic
model's blocks of 4 never straddle a byte.

Random streams are keyed on ``(seed, role, ...)`` (:mod:`irrepro.streams`), so
the data model, the evaluation set, each pair's example stream and each model's shuffles are
independent of one another and of the settings that do not concern them (the example stream
of pair k is the same whatever the window, initialisation or model).
"""
import dataclasses
import queue
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from irrepro.streams import Role, rng_for
from simulator.bytes import ByteSampler, byte_bits

N_FEATURES = 32
LABEL_BIT = 32
FEATURE_MASK = (1 << N_FEATURES) - 1
MIXTURE_MEANS = (-2.0, 0.0, 2.0)
#: Examples generated per call of the stream's generator; fixes the stream independent of
#: how it is consumed.
STREAM_CHUNK = 1 << 16
#: Examples per model in each block handed from the generator thread to the trainer. Small
#: enough that a block of 32 models (4 MiB) stays in cache while it is assembled: with 2^17
#: (32 MiB) the assembly ran 6x slower per example (measured, 2 cores).
BLOCK_EXAMPLES = 1 << 14
#: Blocks the generator may run ahead of the trainer.
QUEUED_BLOCKS = 8
#: Threads that draw, shuffle and gather the pairs' examples, each pair's work on one thread
#: (its own random streams, so the result does not depend on the threads). NumPy releases the
#: GIL in these loops; a window of 2^25 examples is shuffled at memory latency (about 100 ns
#: an element), and at z = 2^20 the trainer otherwise waits for one thread doing it.
DATA_THREADS = 2

# sample() writes the feature bytes into the int64 words in place: byte b is bits 8b..8b+7.
assert sys.byteorder == "little", "the packed example layout assumes a little-endian machine"


def unpack_features(packed):
    """The binary feature matrix, float64 [n, 32], of packed examples [n]."""
    return ((np.asarray(packed)[:, None] >> np.arange(N_FEATURES)) & 1).astype(np.float64)


def unpack_labels(packed):
    """The labels in {0, 1} (1 meaning y = +1), int64 [n], of packed examples [n]."""
    return (np.asarray(packed) >> LABEL_BIT) & 1


@dataclasses.dataclass(frozen=True)
class DataModel:
    """A data model: feature probabilities and true log-odds.

    ``probs`` float64 [32]: P(feature j on), independent across features.
    ``tables`` float64 [4, 256]: log-odds contribution of each byte value of the features.
    ``params``: the drawn parameters, theta [32] (linear) or the 8 blocks L_i [8, 4, 4]
    (quadratic), kept for the weight figures and for tests.
    """

    kind: str
    probs: np.ndarray
    tables: np.ndarray
    params: np.ndarray
    #: One exact sampler per feature byte (simulator.bytes), derived from probs.
    bytes: tuple = dataclasses.field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self):
        samplers = tuple(ByteSampler(self.probs[8 * b:8 * b + 8]) for b in range(4))
        object.__setattr__(self, "bytes", samplers)

    def logodds(self, packed):
        """True log-odds x' theta (or x' Theta x), float64 [n], of packed examples [n]."""
        packed = np.asarray(packed)
        return sum(self.tables[b][(packed >> (8 * b)) & 0xFF] for b in range(4))

    def p_true(self, packed):
        """p_theta(y = +1 | x), float64 [n] (eq. 1)."""
        return 1.0 / (1.0 + np.exp(-self.logodds(packed)))

    def sample(self, rng, n):
        """n i.i.d. packed examples, int64 [n], features and labels drawn from the model.

        Each feature byte is drawn whole from its exact distribution (simulator.bytes), and
        its log-odds contribution looked up as it is drawn, so the label needs no unpacking.
        """
        from simulator import kernels

        packed = np.zeros(n, dtype=np.int64)
        as_bytes = packed.view(np.uint8).reshape(n, 8)  # byte b of every example, in place
        logodds = np.zeros(n)
        for b, sampler in enumerate(self.bytes):
            sampler.draw_into(rng, as_bytes[:, b], self.tables[b], logodds)
        raw = rng.bit_generator.random_raw(n)
        np.negative(logodds, out=logodds)
        np.exp(logodds, out=logodds)
        kernels.set_labels(raw, logodds, as_bytes[:, LABEL_BIT // 8], LABEL_BIT % 8)
        return packed


def _mixture(rng, size):
    """Draws from an equal mixture of N(-2, 1), N(0, 1), N(2, 1)."""
    return rng.normal(rng.choice(MIXTURE_MEANS, size=size), 1.0)


def linear_model(seed):
    """The linear data model: two sets of 16 features, feature j on w.p. 6 / (j pi)^2."""
    rng = rng_for(seed, Role.DATA_MODEL, 0)
    j = np.arange(1, 17)
    probs = np.tile(6.0 / (j * np.pi) ** 2, 2)
    theta = _mixture(rng, N_FEATURES)
    tables = byte_bits() @ theta.reshape(4, 8).T  # [256, 4]
    return DataModel("linear", probs, np.ascontiguousarray(tables.T), theta)


def quadratic_model(seed):
    """The quadratic data model: 8 blocks of 4 features, feature j on w.p. 90 / (j pi)^4,
    log-odds x' Theta x with Theta block-diagonal of lower-triangular 4x4 blocks L_i."""
    rng = rng_for(seed, Role.DATA_MODEL, 1)
    j = np.arange(1, 5)
    probs = np.tile(90.0 / (j * np.pi) ** 4, 8)
    rows, cols = np.tril_indices(4)
    blocks = np.zeros((8, 4, 4))
    blocks[:, rows, cols] = _mixture(rng, (8, rows.size))
    bits = byte_bits()  # [256, 8]: low nibble is block 2b, high nibble block 2b + 1
    low, high = bits[:, :4], bits[:, 4:]
    tables = np.stack([
        np.einsum("vi,ij,vj->v", low, blocks[2 * b], low)
        + np.einsum("vi,ij,vj->v", high, blocks[2 * b + 1], high)
        for b in range(4)
    ])
    return DataModel("quadratic", probs, tables, blocks)


DATA_MODELS = {"linear": linear_model, "quadratic": quadratic_model}


class ExampleStream:
    """The example sequence of one pair: ``take(n)`` returns the next n packed examples.

    ``role`` selects the family of streams (Role.STREAM for the pairs, Role.WARM for the
    warm-start model, which so never sees the pairs' examples).
    """

    def __init__(self, data_model, seed, pair, role=Role.STREAM):
        self._model, self._seed, self._pair, self._role = data_model, seed, pair, role
        self._chunk = 0
        self._buffer = np.zeros(0, dtype=np.int64)

    def take(self, n):
        if n <= self._buffer.size:  # no copy when the buffered chunk suffices
            out, self._buffer = self._buffer[:n], self._buffer[n:]
            return out
        parts, have = [self._buffer], self._buffer.size
        while have < n:
            rng = rng_for(self._seed, self._role, self._pair, self._chunk)
            parts.append(self._model.sample(rng, STREAM_CHUNK))
            have += STREAM_CHUNK
            self._chunk += 1
        joined = np.concatenate(parts)
        self._buffer = joined[n:]
        return joined[:n]


def shuffle_windows(examples, window, rng):
    """``examples`` [n] with each consecutive run of ``window`` examples (the last run may be
    shorter) permuted at random, every run independently."""
    full = examples.size - examples.size % window
    head = rng.permuted(examples[:full].reshape(-1, window), axis=1).ravel()
    return np.concatenate([head, rng.permutation(examples[full:])])


class PairedBatches:
    """The training batches of M pairs: both members of pair k see pair k's examples, each
    member visits every window of ``window`` mini-batches in its own random order.

    ``take(steps)`` returns int64 [2M, steps, batch]: model 2k and 2k+1 form pair k. Blocks
    of examples are produced on a background thread so generation overlaps training.

    Member 2k visits the stream in the order it was drawn and member 2k+1 in a random
    permutation of each window. That is the same joint distribution as two independent
    permutations (s0, s1) of each window: the stream is i.i.d., so s0(stream) is again an
    i.i.d. stream, and s1 s0^-1 is a uniform permutation independent of it. It costs one
    shuffle and one gather per pair instead of two.
    """

    def __init__(self, data_model, seed, pairs, window, batch, examples,
                 block_examples=BLOCK_EXAMPLES, role=Role.STREAM):
        self.pairs, self.batch = pairs, batch
        self._window = window * batch
        # Shuffles are done a group of whole windows at a time; the group is handed to the
        # trainer in blocks of at most block_examples examples per model.
        self._block = block_examples
        self._group = self._window * max(1, block_examples // self._window)
        self._remaining = examples
        self._streams = [ExampleStream(data_model, seed, k, role) for k in range(pairs)]
        self._shufflers = [rng_for(seed, Role.SHUFFLE, int(role), k, 1) for k in range(pairs)]
        self._pending = np.zeros((2 * pairs, 0), dtype=np.int64)
        self._queue = queue.Queue(maxsize=QUEUED_BLOCKS)
        self._pool = ThreadPoolExecutor(DATA_THREADS, thread_name_prefix="examples")
        self._thread = threading.Thread(target=self._produce, daemon=True)
        self._thread.start()

    def _draw(self, k, n):
        """Pair k's next n examples and its second member's visiting order of them (int32
        indices: a window of 2^25 examples costs 128 MiB per pair this way instead of a
        shuffled int64 copy)."""
        order = shuffle_windows(np.arange(n, dtype=np.int32), self._window, self._shufflers[k])
        return self._streams[k].take(n), order

    def _produce(self):
        pairs = range(self.pairs)
        try:
            while self._remaining > 0:
                n = min(self._group, self._remaining)
                self._remaining -= n
                drawn = list(self._pool.map(self._draw, pairs, [n] * self.pairs))
                for start in range(0, n, self._block):
                    stop = min(n, start + self._block)
                    block = np.empty((2 * self.pairs, stop - start), np.int64)
                    list(self._pool.map(_fill_pair, [block] * self.pairs, pairs, drawn,
                                        [start] * self.pairs))
                    self._queue.put(block)
        except BaseException as error:  # surfaced in take(), on the consumer's thread
            self._queue.put(error)
        finally:
            self._pool.shutdown(wait=False)

    def take(self, steps):
        need = steps * self.batch
        # One copy into the contiguous result: a concatenate then a reshape of its first
        # ``need`` columns copied twice.
        out = np.empty((2 * self.pairs, need), np.int64)
        have = 0
        while True:
            part = self._pending[:, :need - have]
            out[:, have:have + part.shape[1]] = part
            have += part.shape[1]
            self._pending = self._pending[:, part.shape[1]:]
            if have == need:
                return out.reshape(2 * self.pairs, steps, self.batch)
            block = self._queue.get()
            if isinstance(block, BaseException):
                raise block
            self._pending = block


def _fill_pair(block, k, drawn, start):
    """Rows 2k and 2k + 1 of ``block`` [2M, b]: pair k's examples start .. start + b, as
    drawn (``drawn`` = (examples, order)) and in its second member's order."""
    examples, order = drawn
    stop = start + block.shape[1]
    block[2 * k] = examples[start:stop]
    np.take(examples, order[start:stop], out=block[2 * k + 1])


def evaluation_set(data_model, seed, n):
    """The evaluation examples shared by every model of an experiment seed, int64 [n]."""
    return data_model.sample(rng_for(seed, Role.EVAL), n)
