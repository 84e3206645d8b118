"""RM over K variants: SVCCA pair by pair against reducing each variant once, in one run.

Three ways to get the K(K-1)/2 pairwise SVCCA values of one layer of K seed variants:
  textbook   per pair, the SVD of both centred layers, then the SVD of Ua^T Ub (what a
             direct reading of Raghu et al., 2017 does);
  per pair   ``svcca(a_i, a_j)`` for every pair (each call reduces both layers);
  pairwise   ``pairwise_svcca(layers)``: each layer reduced once, then one small cross
             product and SVD per pair.
All three must agree; the script exits 1 when they do not.

    python benchmarks/bench_svcca.py                                 # K=10, 20000 x 256
    python benchmarks/bench_svcca.py --points 5000 --neurons 128     # quicker
"""
import argparse
import sys
import time

import numpy as np

from image_experiments.similarity import pairwise_svcca, svcca


def variants(k, points, neurons, seed):
    """K ReLU layers [points, neurons] reading 64 shared factors through their own weights,
    plus their own noise, with about 10% dead neurons: stand-ins for K seed variants."""
    rng = np.random.default_rng(seed)
    factors = rng.standard_normal((points, 64))
    layers = []
    for _ in range(k):
        pre = factors @ rng.standard_normal((64, neurons)) + rng.standard_normal(
            (points, neurons))
        pre[:, rng.random(neurons) < 0.1] = -1.0  # never active: dead units
        layers.append(np.maximum(pre, 0.0))
    return layers


def textbook_svcca(a, b, variance, top):
    """SVCCA of a [n, p1], b [n, p2] from full thin SVDs, written without the module."""

    def basis(x):
        x = x[:, np.ptp(x, axis=0) > 0]
        u, s, _ = np.linalg.svd(x - x.mean(axis=0), full_matrices=False)
        share = np.cumsum(s ** 2) / np.sum(s ** 2)
        return u[:, :int(np.argmax(share >= variance - 1e-12)) + 1]

    correlations = np.linalg.svd(basis(a).T @ basis(b), compute_uv=False)
    return float(np.minimum(correlations, 1.0)[:top].mean())


def timed(compute):
    """(what compute() returns, seconds it took)."""
    start = time.perf_counter()
    value = compute()
    return value, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=10, help="K (default 10: 45 pairs)")
    parser.add_argument("--points", type=int, default=20000, help="data points n")
    parser.add_argument("--neurons", type=int, default=256, help="neurons p per layer")
    parser.add_argument("--variance", type=float, default=0.99)
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    layers = variants(args.variants, args.points, args.neurons, args.seed)
    pairs = [(i, j) for i in range(len(layers)) for j in range(i + 1, len(layers))]
    textbook, t_textbook = timed(lambda: [
        textbook_svcca(layers[i], layers[j], args.variance, args.top) for i, j in pairs])
    per_pair, t_per_pair = timed(lambda: [
        svcca(layers[i], layers[j], args.variance, args.top).value for i, j in pairs])
    result, t_pairwise = timed(lambda: pairwise_svcca(layers, args.variance, args.top))
    pairwise = result.pairs["svcca"].to_numpy()

    kept = result.kept_dims
    print(f"RM over K={len(layers)} variants ({len(pairs)} pairs), {args.points} data points "
          f"x {args.neurons} neurons, variance {args.variance}, top {args.top}; "
          f"kept dims {min(kept)}-{max(kept)}")
    print(f"  textbook SVD per pair  {t_textbook:8.2f} s")
    print(f"  svcca() per pair       {t_per_pair:8.2f} s")
    print(f"  pairwise_svcca()       {t_pairwise:8.2f} s")
    print(f"  reduce-once speed-up: {t_per_pair / t_pairwise:.1f}x over svcca() per pair, "
          f"{t_textbook / t_pairwise:.1f}x over the textbook SVD")
    gap = max(np.abs(pairwise - np.array(per_pair)).max(),
              np.abs(pairwise - np.array(textbook)).max())
    print(f"  RM = {-pairwise.mean():.6f}; largest difference between methods {gap:.1e}")
    return 0 if gap < 1e-9 else 1


if __name__ == "__main__":
    sys.exit(main())
