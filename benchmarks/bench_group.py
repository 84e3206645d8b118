"""K CNN variants trained one after another against trained together, in one run.

  fit      each variant a Keras model trained with ``model.fit`` on its batches (the naive way)
  alone    each variant in its own VariantGroup of one: K compiled loops, one after another
  grouped  one VariantGroup of K: every step runs all K variants in one compiled graph
All three train the same variants on the same batches (random images, MNIST-shaped by
default); the script exits 1 when alone and grouped final weights differ beyond float
tolerance.

    python benchmarks/bench_group.py                         # K=4, 28x28x1, batch 64
    python benchmarks/bench_group.py --variants 10 --size 32 --channels 3 --batch 8
"""
import argparse
import sys
import time

import numpy as np

from image_experiments.cnn import build_cnn
from image_experiments.group import ADAM, VariantGroup
from image_experiments.training import BatchOrder, Seeds, init_rng, setup_device
from irrepro.tf import keras


def train(seeds, x, y, batch, steps, lr=1e-3):
    """A VariantGroup of ``seeds`` after ``steps`` steps, and the seconds the steps took
    (after one untimed warm-up call that compiles the step function)."""
    group = VariantGroup.build(x.shape[1:], 10, [init_rng(0, s) for s in seeds], lr, x, y)
    orders = [BatchOrder(len(x), batch, 0, s.order) for s in seeds]
    indices = np.stack([o.batches(0, steps + 1) for o in orders], axis=1)
    group.train(indices[:1])  # compiles
    start = time.perf_counter()
    group.train(indices[1:])
    return group, time.perf_counter() - start


def fit(seed, x, y, batch, steps, lr=1e-3):
    """Seconds ``model.fit`` takes for ``steps`` steps of one variant's batches, after one
    untimed step that builds its training function."""
    model = build_cnn(x.shape[1:], 10, rng=init_rng(0, seed))
    model.compile(keras.optimizers.Adam(lr, **ADAM),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    order = BatchOrder(len(x), batch, 0, seed.order).batches(0, steps + 1).reshape(-1)
    model.fit(x[order[:batch]], y[order[:batch]], batch_size=batch, shuffle=False, verbose=0)
    start = time.perf_counter()
    model.fit(x[order[batch:]], y[order[batch:]], batch_size=batch, shuffle=False, verbose=0)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=4, help="K (default 4)")
    parser.add_argument("--size", type=int, default=28, help="image side (default 28)")
    parser.add_argument("--channels", type=int, default=1, help="image channels (default 1)")
    parser.add_argument("--batch", type=int, default=64, help="mini-batch (default 64)")
    parser.add_argument("--steps", type=int, default=20, help="timed steps (default 20)")
    args = parser.parse_args()

    print(f"device: {setup_device()}")
    rng = np.random.default_rng(0)
    x = rng.random((2048, args.size, args.size, args.channels)).astype(np.float32)
    y = rng.integers(0, 10, len(x))
    seeds = [Seeds(k, k) for k in range(args.variants)]
    fit_s = sum(fit(s, x, y, args.batch, args.steps) for s in seeds)
    alone = [train([s], x, y, args.batch, args.steps) for s in seeds]
    grouped, grouped_s = train(seeds, x, y, args.batch, args.steps)
    alone_s = sum(seconds for _, seconds in alone)
    per = args.steps * args.variants
    print(f"{args.variants} variants, {args.steps} steps of batch {args.batch}, "
          f"{args.size}x{args.size}x{args.channels} images")
    print(f"  fit      {fit_s:7.2f} s  ({fit_s / per * 1e3:6.1f} ms per variant-step)")
    print(f"  alone    {alone_s:7.2f} s  ({alone_s / per * 1e3:6.1f} ms per variant-step)")
    print(f"  grouped  {grouped_s:7.2f} s  ({grouped_s / per * 1e3:6.1f} ms per variant-step)")
    print(f"  grouped is {fit_s / grouped_s:.2f}x as fast as fit, {alone_s / grouped_s:.2f}x "
          "as fast as alone")
    worst = max(float(np.abs(a - b).max())
                for k, (group, _) in enumerate(alone)
                for a, b in zip(group.get_weights(0), grouped.get_weights(k)))
    print(f"  largest weight difference, alone vs grouped: {worst:.2e}")
    return 0 if worst < 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main())
