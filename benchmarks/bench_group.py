"""K CNN variants trained one after another against trained together, in one run, and
against the machine's own matmul peak.

  fit      each variant a Keras model trained with ``model.fit`` on its batches (the naive
           way), in a subprocess that has not imported this project: TensorFlow's own
           defaults, oneDNN on (benchmarks/machine.py)
  alone    each variant in its own VariantGroup of one: K compiled loops, one after another
  grouped  one VariantGroup of K: every step runs all K variants in one compiled graph
All three train the same variants on the same batches (random images, MNIST-shaped by
default); images/s counts every variant's images, GFLOP/s the training flops (3x the forward
pass's). Each row is the best of machine.TIMED_RUNS timed runs of ``--steps`` steps. The
script exits 1 when alone and grouped final weights differ beyond float tolerance.

    python benchmarks/bench_group.py                         # K=4, 28x28x1, batch 64
    python benchmarks/bench_group.py --batch 8 64 512        # both regimes' extremes
    python benchmarks/bench_group.py --variants 10 --size 32 --channels 3 --batch 8
"""
import argparse
import os
import sys
import tempfile

import machine
import numpy as np

from image_experiments.architecture import Architecture
from image_experiments.cnn import build_cnn
from image_experiments.group import ADAM, VariantGroup
from image_experiments.training import BatchOrder, Seeds, init_rng, setup_device


def forward_flops(model):
    """Multiply-adds x 2 of one image through ``model``'s convolutions and dense layers."""
    flops = 0
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "Conv2D":
            _, h, w, c_out = layer.output.shape
            kh, kw, c_in, _ = layer.kernel.shape
            flops += 2 * h * w * kh * kw * c_in * c_out
        elif kind == "Dense":
            flops += 2 * int(np.prod(layer.kernel.shape))
    return flops


def train(seeds, x, y, batch, steps, lr=1e-3):
    """A VariantGroup of ``seeds`` after (1 + machine.TIMED_RUNS) * ``steps`` steps, and the
    best seconds of its machine.TIMED_RUNS calls of ``steps`` steps after the first: that
    first is an untimed call of the same shape that compiles the step function (a call of
    another length would trace it again inside the timing)."""
    group = VariantGroup.build(Architecture(), x.shape[1:], 10, [init_rng(0, s) for s in seeds],
                               lr, x, y)
    orders = [BatchOrder(len(x), batch, 0, s.order) for s in seeds]
    indices = np.stack([o.batches(0, (1 + machine.TIMED_RUNS) * steps) for o in orders], axis=1)
    group.train(indices[:steps])  # compiles
    return group, machine.best_seconds(
        machine.TIMED_RUNS, lambda k: group.train(indices[(k + 1) * steps:(k + 2) * steps]))


def fit(seed, x, y, batch, steps, lr=1e-3):
    """Seconds ``model.fit`` takes for ``steps`` steps of one variant's batches, the best of
    machine.TIMED_RUNS epochs after one untimed step that builds its training function (in a
    subprocess: machine.fit_seconds)."""
    model = build_cnn(x.shape[1:], 10, rng=init_rng(0, seed))
    order = BatchOrder(len(x), batch, 0, seed.order).batches(0, steps + 1).reshape(-1)
    with tempfile.TemporaryDirectory() as tmp:
        model_path, data_path = os.path.join(tmp, "m.keras"), os.path.join(tmp, "d.npz")
        model.save(model_path)
        np.savez(data_path, x_warm=x[order[:batch]], y_warm=y[order[:batch]],
                 x=x[order[batch:]], y=y[order[batch:]])
        return machine.fit_seconds(model_path, data_path,
                                   {"name": "adam", "learning_rate": lr, **ADAM}, "sparse",
                                   batch, repeats=machine.TIMED_RUNS)


def measure(args, batch, x, y, flops, peak):
    """Print one batch size's three rows; True when alone and grouped agree."""
    seeds = [Seeds(k, k) for k in range(args.variants)]
    fit_s = sum(fit(s, x, y, batch, args.steps) for s in seeds)
    alone = [train([s], x, y, batch, args.steps) for s in seeds]
    grouped, grouped_s = train(seeds, x, y, batch, args.steps)
    alone_s = sum(seconds for _, seconds in alone)
    per, images = args.steps * args.variants, args.steps * args.variants * batch
    print(f"{args.variants} variants, {args.steps} steps of batch {batch}, "
          f"{args.size}x{args.size}x{args.channels} images")
    for name, seconds in (("fit", fit_s), ("alone", alone_s), ("grouped", grouped_s)):
        rate = images / seconds
        print(f"  {name:<8} {seconds:7.2f} s  {seconds / per * 1e3:7.1f} ms per variant-step  "
              f"{rate:7.0f} images/s  {rate * flops / 1e9:6.1f} GFLOP/s  "
              f"{rate * flops / 1e9 / peak['gflops']:6.1%} of peak", flush=True)
    print(f"  grouped is {fit_s / grouped_s:.2f}x as fast as fit, {alone_s / grouped_s:.2f}x "
          "as fast as alone")
    worst = max(float(np.abs(a - b).max())
                for k, (group, _) in enumerate(alone)
                for a, b in zip(group.get_weights(0), grouped.get_weights(k)))
    print(f"  largest weight difference, alone vs grouped: {worst:.2e}")
    return worst < 1e-4


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=4, help="K (default 4)")
    parser.add_argument("--size", type=int, default=28, help="image side (default 28)")
    parser.add_argument("--channels", type=int, default=1, help="image channels (default 1)")
    parser.add_argument("--batch", type=int, nargs="+", default=[64],
                        help="mini-batch sizes (default 64)")
    parser.add_argument("--steps", type=int, default=20, help="timed steps (default 20)")
    args = parser.parse_args()

    peak, bandwidth = machine.matmul_peak(), machine.memory_bandwidth()
    machine.print_machine(peak, bandwidth)
    print(f"device: {setup_device()}")
    rng = np.random.default_rng(0)
    x = rng.random((2048, args.size, args.size, args.channels)).astype(np.float32)
    y = rng.integers(0, 10, len(x))
    # Training flops: the forward pass, and twice it for the two gradient products.
    flops = 3 * forward_flops(build_cnn(x.shape[1:], 10))
    print(f"training flops per image: {flops / 1e6:.1f} M")
    agree = [measure(args, batch, x, y, flops, peak) for batch in args.batch]
    return 0 if all(agree) else 1


if __name__ == "__main__":
    sys.exit(main())
