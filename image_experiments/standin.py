"""A synthetic stand-in for CIFAR-10, written in its python-batch format
(cifar-10-batches-py/data_batch_1..5, test_batch, batches.meta), for machines without
the real files. It is NOT CIFAR-10: class c's 32x32 images are a sinusoidal grating of its
own orientation and frequency (shape information that survives turning grey) tinted with its
own hue (colour information that does not), with a random phase, position jitter and pixel
noise per image, so that CIFAR10-Skewed's colour / grey shortcut exists in it.

    python -m image_experiments.standin DIR [--train-per-class N] [--test-per-class N]
"""
import argparse
import colorsys
import pickle
from pathlib import Path

import numpy as np

from image_experiments.skewed import CIFAR10_NAMES
from irrepro.streams import Role, rng_for
from irrepro.tables import write_atomic


def standin_images(labels, seed, split):
    """uint8 [n, 32, 32, 3] stand-in images of ``labels`` (see the module docs)."""
    labels = np.asarray(labels)
    rng = rng_for(seed, Role.STANDIN, split)
    n = len(labels)
    yy, xx = np.mgrid[0:32, 0:32].astype(np.float32) / 32
    angle = labels * np.pi / 10 + rng.normal(0, 0.12, n)
    freq = 2.0 + (labels % 5) * 0.8 + rng.normal(0, 0.15, n)
    phase = rng.uniform(0, 2 * np.pi, n)
    shift = rng.normal(0, 0.08, (n, 2))
    u = ((xx[None] - shift[:, :1, None]) * np.cos(angle)[:, None, None]
         + (yy[None] - shift[:, 1:, None]) * np.sin(angle)[:, None, None])
    pattern = 0.5 + 0.35 * np.sin(2 * np.pi * freq[:, None, None] * u + phase[:, None, None])
    hues = np.array([colorsys.hsv_to_rgb(c / 10, 0.7, 1.0) for c in range(10)], np.float32)
    tint = hues[labels] * rng.uniform(0.75, 1.0, (n, 1))
    images = pattern[..., None] * tint[:, None, None, :]
    images += rng.normal(0, 0.08, images.shape)
    return (np.clip(images, 0, 1) * 255).round().astype(np.uint8)


def batch_bytes(images, labels, name):
    rows = np.stack([images[..., c].reshape(len(labels), -1) for c in range(3)], 1)
    return pickle.dumps({b"batch_label": name.encode(), b"labels": [int(v) for v in labels],
                         b"data": rows.reshape(len(labels), 3072),
                         b"filenames": [b"standin.png"] * len(labels)}, protocol=2)


def write_standin(root, train_per_class=100, test_per_class=20, seed=0):
    """Write the stand-in's batches into ROOT/cifar-10-batches-py (train_per_class images of
    each class spread over the five training batches); returns that folder."""
    folder = Path(root) / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    order = rng_for(seed, Role.STANDIN, 9).permutation(np.repeat(np.arange(10),
                                                                 train_per_class))
    images = standin_images(order, seed, 0)
    files = {}
    for i, part in enumerate(np.array_split(np.arange(len(order)), 5)):
        files[f"data_batch_{i + 1}"] = batch_bytes(images[part], order[part],
                                                   f"training batch {i + 1} of 5")
    test = np.tile(np.arange(10), test_per_class)
    files["test_batch"] = batch_bytes(standin_images(test, seed, 1), test, "testing batch")
    files["batches.meta"] = pickle.dumps(
        {b"label_names": [n.encode() for n in CIFAR10_NAMES], b"num_vis": 3072,
         b"num_cases_per_batch": int(np.ceil(len(order) / 5))}, protocol=2)
    for name, data in files.items():
        write_atomic(folder / name, lambda tmp, data=data: Path(tmp).write_bytes(data))
    return folder


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root")
    parser.add_argument("--train-per-class", type=int, default=100)
    parser.add_argument("--test-per-class", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if min(args.train_per_class, args.test_per_class) < 1:
        parser.exit(2, "error: --train-per-class and --test-per-class must be >= 1\n")
    print(write_standin(args.root, args.train_per_class, args.test_per_class, args.seed))


if __name__ == "__main__":
    main()
