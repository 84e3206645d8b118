"""The example sampler's inner loops, compiled by Numba: each makes one pass over its arrays
where NumPy made one per operation (DataModel.sample: 19 against 48 ns an example for the
linear model, 23 against 42 for the quadratic, bit-identical draws; 2-core AVX-512 EPYC, best
of 30). They release the GIL, so the data threads draw in parallel. Imported on first draw,
so commands that draw nothing do not start Numba.

The random words come from NumPy's generator and the exponential from NumPy, so the draws are
bit for bit those of the NumPy arithmetic the loops replaced (tests/test_data.py checks it).
"""
import numba
import numpy as np

from simulator.bytes import FRACTION, UNIFORM_BITS

_UNIFORM_SHIFT = np.uint64(64 - UNIFORM_BITS)


@numba.njit(nogil=True, cache=True)
def alias_values(raw, keep_below, value_of):
    """The byte values uint8 [n] that the 64-bit words ``raw`` uint64 [n] draw from an alias
    table: a word's low 8 bits are its slot s, and its top 53 bits, as an integer, keep s when
    below ``keep_below[s]``; the value is ``value_of[s + 256]`` (s) if kept, else
    ``value_of[s]`` (its alias)."""
    out = np.empty(raw.size, np.uint8)
    for i in range(raw.size):
        slot = raw[i] & np.uint64(255)
        kept = (raw[i] >> _UNIFORM_SHIFT) < keep_below[slot]
        out[i] = value_of[slot + np.uint64(256) * kept]
    return out


@numba.njit(nogil=True, cache=True)
def add_dense_byte(values, column, table, logodds):
    """Writes ``values`` uint8 [n] into ``column`` [n] and adds ``table[values]`` to
    ``logodds`` float64 [n]."""
    for i in range(values.size):
        column[i] = values[i]
        logodds[i] += table[values[i]]


@numba.njit(nogil=True, cache=True)
def add_sparse_byte(positions, values, column, table, logodds):
    """The byte is 0 except ``values`` uint8 [k] at ``positions`` int64 [k]: writes those
    into ``column`` [n] (zero already) and adds the byte's log-odds contribution to
    ``logodds`` float64 [n], ``table[0]`` everywhere and ``table[v] - table[0]`` where it
    is v."""
    zero = table[0]
    for i in range(logodds.size):
        logodds[i] += zero
    for k in range(positions.size):
        column[positions[k]] = values[k]
        logodds[positions[k]] += table[values[k]] - zero


@numba.njit(nogil=True, cache=True)
def set_labels(raw, exp_minus_logodds, column, bit):
    """y = +1 with probability 1 / (1 + e), e = ``exp_minus_logodds`` float64 [n]: writes
    ``1 << bit`` into ``column`` uint8 [n] where the uniform u of the word ``raw[i]`` has
    u (1 + e) < 1 (u < p without a division), 0 elsewhere."""
    for i in range(raw.size):
        u = np.float64(raw[i] >> _UNIFORM_SHIFT) * FRACTION
        column[i] = np.uint8(u * (exp_minus_logodds[i] + 1.0) < 1.0) << np.uint8(bit)
