"""Exact, fast draws of one byte of independent Bernoulli features.

The 32 features of an example are 4 bytes; the 8 features of a byte are independent
Bernoulli(p_j), so the byte's value v in [0, 256) has probability
q(v) = prod_j p_j^bit_j(v) (1 - p_j)^(1 - bit_j(v)). Drawing v from q directly (Walker's alias
method: one 64-bit random word per value) costs about as much as one Bernoulli draw, where
drawing the 8 features one by one costs 8, or, with geometric gaps between the 'on'
positions, one logarithm per feature that is on (about 2 per example in the linear model).

Bytes that are almost always 0 (the rare features j = 9..16 of the linear model: about 3% of
bytes are non-zero) are drawn sparsely instead: the positions of the non-zero bytes by
geometric gaps, and their values from q conditioned on v != 0.
"""
import numpy as np

#: A byte whose probability of being non-zero is below this is drawn sparsely.
SPARSE_BELOW = 0.125
UNIFORM_BITS = 53  # the top bits of a random 64-bit word that make a uniform float64
FRACTION = 2.0 ** -UNIFORM_BITS  # a 53-bit integer times this is a uniform in [0, 1)


def byte_bits():
    """The bits of every byte value, int [256, 8]: entry [v, j] is bit j of v."""
    return (np.arange(256)[:, None] >> np.arange(8)) & 1


def byte_distribution(probs):
    """q(v) float64 [256] of the byte whose features are on with ``probs`` float [8]."""
    bits = byte_bits()
    probs = np.asarray(probs, np.float64)
    return np.prod(np.where(bits == 1, probs, 1.0 - probs), axis=1)


def alias_table(q):
    """Walker / Vose alias table of the distribution ``q`` float [m]: (accept float64 [m],
    alias int64 [m]). Draw slot s uniformly, keep s if u < accept[s], else take alias[s]."""
    m = len(q)
    scaled = np.asarray(q, np.float64) * (m / np.sum(q))
    accept, alias = np.ones(m), np.arange(m)
    small = [i for i in range(m) if scaled[i] < 1.0]
    large = [i for i in range(m) if scaled[i] >= 1.0]
    while small and large:
        s, g = small.pop(), large.pop()
        accept[s], alias[s] = scaled[s], g
        scaled[g] -= 1.0 - scaled[s]
        (small if scaled[g] < 1.0 else large).append(g)
    # What is left holds 1 up to rounding: those slots always keep themselves.
    return accept, alias


class ByteSampler:
    """Draws of the byte whose 8 features are on with ``probs`` float [8].

    ``draw_into(rng, column, table, logodds)`` draws the byte of n examples: a dense byte
    from the alias table, a sparse one at geometric-gap positions, from the table of its
    non-zero values, 0 everywhere else.
    """

    def __init__(self, probs):
        q = byte_distribution(probs)
        self.nonzero = 1.0 - q[0]
        self.sparse = self.nonzero < SPARSE_BELOW
        if self.sparse:  # the values of the non-zero bytes: q given v != 0, slots 1..255
            q = np.concatenate([[0.0], q[1:]])
        self.accept, self.alias = alias_table(q)
        # k * 2^-53 < a exactly when the integer k < ceil(a * 2^53) (a scaling by 2^53 is
        # exact): the uniform is compared as the integer it is made of, no float pass.
        self._keep_below = np.ceil(self.accept * 2.0 ** UNIFORM_BITS).astype(np.uint64)
        # a slot's value: _value_of[s] (its alias) if rejected, _value_of[s + 256] = s if kept
        self._value_of = np.concatenate([self.alias, np.arange(256)]).astype(np.uint8)

    def values_of(self, raw):
        """The byte values uint8 [n] drawn by the 64-bit random words ``raw`` uint64 [n]: one
        word each, its low 8 bits the slot and its top 53 bits the uniform that accepts the
        slot or its alias."""
        from simulator import kernels

        return kernels.alias_values(raw, self._keep_below, self._value_of)

    def draw_into(self, rng, column, table, logodds):
        """Draws the byte of n examples into ``column`` uint8 [n] (zero on entry) and adds
        its log-odds contribution ``table[v]`` (float64 [256]) to ``logodds`` float64 [n]."""
        from simulator import kernels

        n = column.size
        if not self.sparse:
            values = self.values_of(rng.bit_generator.random_raw(n))
            kernels.add_dense_byte(values, column, table, logodds)
            return
        positions = bernoulli_positions(rng, self.nonzero, n)
        values = self.values_of(rng.bit_generator.random_raw(positions.size))
        kernels.add_sparse_byte(positions, values, column, table, logodds)


def bernoulli_positions(rng, p, n):
    """Sorted indices in [0, n) of the successes of n Bernoulli(p) trials (geometric gaps:
    about n * p random numbers instead of n)."""
    if p <= 0.0:
        return np.zeros(0, np.int64)
    expected = n * p
    positions = np.cumsum(rng.geometric(p, size=int(expected + 8 * np.sqrt(expected) + 16))) - 1
    while positions[-1] < n:  # rare: the draw fell short, continue the same process
        more = np.cumsum(rng.geometric(p, size=max(16, int(expected)))) + positions[-1]
        positions = np.concatenate([positions, more])
    return positions[: np.searchsorted(positions, n)]
