"""RM over K models: ``image_experiments.measure`` against the installed peers, pair by pair.

The measures are those ``imgctl measure`` writes per layer by default: SVCCA (99% of the
variance, top 20) and linear CKA over the K(K-1)/2 pairs of K models, for two layers.

  ours     ``measure.representation_rows``: each model's layer checked, centred and reduced
           once, then one small product per pair (and the bootstrap intervals);
  peers    per pair, as a user of the peers would: SVCCA = SVD-reduce both layers to 99% of
           their variance, then cca-zoo's ``linear.CCA`` on the reduced layers and the mean
           of its top 20 correlations; CKA = rsatoolbox's ``cosine_cov`` comparison of the
           two layers' squared-Euclidean RDMs (n x n).

rsatoolbox works on n x n matrices: at n = 10,000 one pair takes tens of seconds and ~8 GB,
so by default the peers run on ``--peer-pairs`` pairs per layer (the first ones) and their
time is scaled to all pairs (every pair costs the same); ``--peer-pairs 45`` runs them all.
The numbers of every pair the peers computed must match ours (SVCCA to 1e-10, CKA to 1e-10);
the script exits 1 when they do not.

    python benchmarks/bench_measure.py                          # K=10, 10000 x 512, 2 layers
    python benchmarks/bench_measure.py --points 2000 --peer-pairs 45
"""
import argparse
import sys
import time

import numpy as np
from bench_svcca import variants as variant_layers

from image_experiments import multiplicity as mm
from image_experiments.measure import _rm_matrices, representation_rows


def variants(k, points, neurons, seed):
    """K stand-in layers [K, points, neurons] (bench_svcca's, stacked)."""
    return np.stack(variant_layers(k, points, neurons, seed))


def peer_svcca(a, b, variance=0.99, top=20):
    from cca_zoo.linear import CCA
    from cca_zoo.metrics import pairwise_correlations

    def reduce(x):
        x = x[:, np.ptp(x, axis=0) > 0]
        x = x - x.mean(axis=0)
        u, s, _ = np.linalg.svd(x, full_matrices=False)
        share = np.cumsum(s ** 2) / np.sum(s ** 2)
        keep = int(np.searchsorted(share, variance)) + 1
        return u[:, :keep] * s[:keep]

    x, y = reduce(a), reduce(b)
    model = CCA(n_components=min(x.shape[1], y.shape[1])).fit([x, y])
    rho = np.sort(pairwise_correlations(model.transform([x, y]))[0, 1])[::-1]
    return float(rho[:top].mean())


def peer_cka(a, b):
    from rsatoolbox.data import Dataset
    from rsatoolbox.rdm import calc_rdm, compare

    return float(compare(calc_rdm(Dataset(a), method="euclidean"),
                         calc_rdm(Dataset(b), method="euclidean"), method="cosine_cov")[0, 0])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=10)
    parser.add_argument("--points", type=int, default=10_000)
    parser.add_argument("--neurons", type=int, default=512)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--peer-pairs", type=int, default=3,
                        help="pairs per layer the peers compute (their time is scaled to all)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    layers = {f"layer{i}": variants(args.models, args.points, args.neurons, args.seed + i)
              for i in range(args.layers)}
    pairs = mm.pairs_of(args.models)
    print(f"K = {args.models} models, {len(pairs)} pairs, {args.layers} layers of "
          f"{args.points} x {args.neurons}; peers on {min(args.peer_pairs, len(pairs))} "
          f"pairs per layer", flush=True)

    start = time.perf_counter()
    rows = representation_rows(layers, ("svcca", "cka"), draws=1000)
    ours = time.perf_counter() - start
    print(f"ours (measure, svcca + cka with bootstrap CIs): {ours:.1f} s", flush=True)
    matrices = {name: _rm_matrices(acts, name, ("svcca", "cka"), 0.99, 20, 256)
                for name, acts in layers.items()}
    assert len(rows) == 3 * args.layers

    chosen = pairs[:args.peer_pairs]
    worst = {"svcca": 0.0, "cka": 0.0}
    spent = {"svcca": 0.0, "cka": 0.0}
    for name, acts in layers.items():
        for a, b in chosen:
            for measure, function in (("svcca", peer_svcca), ("cka", peer_cka)):
                start = time.perf_counter()
                theirs = function(acts[a], acts[b])
                spent[measure] += time.perf_counter() - start
                mine = matrices[name][measure][0][a, b]
                worst[measure] = max(worst[measure], abs(theirs - mine))
        print(f"  peers, {name}: {spent['svcca']:.1f} s SVCCA, {spent['cka']:.1f} s CKA so far",
              flush=True)
    scale = len(pairs) / len(chosen)
    peers = (spent["svcca"] + spent["cka"]) * scale
    print(f"peers pair by pair (cca-zoo SVCCA + rsatoolbox CKA): {peers:.1f} s for all "
          f"{len(pairs)} pairs x {args.layers} layers"
          + ("" if scale == 1 else f" (measured {peers / scale:.1f} s on {len(chosen)} pairs "
                                    f"per layer, x {scale:g})"))
    print(f"ratio: {peers / ours:.1f}x (goal >= 10x)")
    print(f"largest difference: SVCCA {worst['svcca']:.1e}, CKA {worst['cka']:.1e}")
    if max(worst.values()) > 1e-10:
        print("MISMATCH: the peers' numbers differ from ours by more than 1e-10")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
