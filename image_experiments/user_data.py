"""A user's own image data set in place of a registered one: ``imgctl sweep ./mydata.npz``
or ``imgctl sweep ./images/`` (everything else of the sweep works unchanged).

- ``.npz`` with ``x_train``, ``y_train``, ``x_test``, ``y_test``: images [n, H, W] or
  [n, H, W, C], uint8 (0..255) or float in [0, 1]; labels int in 0..C-1. Optional
  ``class_names`` (strings).
- A folder with one sub-folder per class (sorted names are the classes), each holding image
  files of one size (PNG, JPEG, BMP, GIF: read by Pillow); the last 20% of each class (by
  sorted file name) are the test set, so the split is the same on every machine.
"""
from pathlib import Path

import numpy as np

from image_experiments.readers import ImageDataset
from irrepro.errors import UserError

KEYS = ("x_train", "y_train", "x_test", "y_test")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
TEST_SHARE = 0.2


def is_user_dataset(name):
    """Whether ``name`` names a user's data set (an .npz file or a folder) rather than a
    registered one."""
    from image_experiments.registry import DATASETS

    path = Path(str(name))
    return str(name) not in DATASETS and (path.suffix == ".npz" or path.is_dir())


def load_user_dataset(name):
    """The :class:`ImageDataset` in the .npz file or class folder ``name`` (module docs)."""
    path = Path(name).expanduser()
    if not path.exists():
        raise UserError(f"no data set at {path}; give an .npz with {', '.join(KEYS)} or a "
                        "folder with one sub-folder of images per class")
    data = _read_npz(path) if path.suffix == ".npz" else _read_folder(path)
    return data


def _as_images(array, what, path):
    array = np.asarray(array)
    if array.ndim == 3:
        array = array[..., None]
    if array.ndim != 4:
        raise UserError(f"{path}: {what} has shape {array.shape}; give images [n, H, W] or "
                        "[n, H, W, C]")
    if array.dtype != np.uint8:
        if not np.isfinite(array).all() or array.min() < 0 or array.max() > 1:
            raise UserError(f"{path}: {what} is neither uint8 nor floats in [0, 1]; scale "
                            "the pixels to [0, 1]")
        array = np.rint(array * 255).astype(np.uint8)
    return array


def _read_npz(path):
    try:
        with np.load(path, allow_pickle=False) as stored:
            missing = [key for key in KEYS if key not in stored.files]
            if missing:
                raise UserError(f"{path} lacks {', '.join(missing)}; it needs "
                                f"{', '.join(KEYS)}")
            arrays = {key: stored[key] for key in KEYS}
            names = (tuple(str(n) for n in stored["class_names"])
                     if "class_names" in stored.files else None)
    except (OSError, ValueError) as error:
        raise UserError(f"cannot read {path} as .npz ({type(error).__name__}); write it "
                        "with numpy.savez") from None
    x_train, x_test = (_as_images(arrays[k], k, path) for k in ("x_train", "x_test"))
    if x_train.shape[1:] != x_test.shape[1:]:
        raise UserError(f"{path}: x_train images {x_train.shape[1:]} and x_test images "
                        f"{x_test.shape[1:]} differ; give one image shape")
    labels = []
    for key, x in (("y_train", x_train), ("y_test", x_test)):
        y = np.asarray(arrays[key]).reshape(-1)
        if len(y) != len(x) or not np.issubdtype(y.dtype, np.integer) or y.min() < 0:
            raise UserError(f"{path}: {key} must hold one integer label >= 0 per image "
                            f"({len(x)}); got {y.shape} {y.dtype}")
        labels.append(y.astype(np.int64))
    classes = int(max(labels[0].max(), labels[1].max())) + 1
    names = names or tuple(str(c) for c in range(classes))
    if len(names) < classes:
        raise UserError(f"{path}: class_names has {len(names)} names for {classes} classes")
    return ImageDataset(path.stem, x_train, labels[0], x_test, labels[1], names, str(path))


def _read_folder(path):
    from PIL import Image

    classes = sorted(p.name for p in path.iterdir() if p.is_dir())
    if len(classes) < 2:
        raise UserError(f"{path} holds {len(classes)} class folder(s); give one sub-folder of "
                        "images per class, at least two")
    splits = {"train": ([], []), "test": ([], [])}
    shape = None
    for label, name in enumerate(classes):
        files = sorted(p for p in (path / name).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if len(files) < 2:
            raise UserError(f"{path / name} holds {len(files)} image(s); each class needs at "
                            "least two (one to train on, one to test)")
        n_test = max(1, int(round(TEST_SHARE * len(files))))
        for i, file in enumerate(files):
            with Image.open(file) as image:
                pixels = np.asarray(image.convert("L" if image.mode in ("L", "1", "P")
                                                  and _grey(image) else "RGB"))
            if shape is None:
                shape = pixels.shape
            if pixels.shape != shape:
                raise UserError(f"{file} is {pixels.shape}, the others {shape}; give images "
                                "of one size")
            split = "test" if i >= len(files) - n_test else "train"
            splits[split][0].append(pixels)
            splits[split][1].append(label)
    (x_train, y_train), (x_test, y_test) = ((np.stack(x), np.array(y, np.int64))
                                            for x, y in splits.values())
    return ImageDataset(path.name, _as_images(x_train, "images", path), y_train,
                        _as_images(x_test, "images", path), y_test, tuple(classes), str(path))


def _grey(image):
    """Whether a palette or grey image holds only grey levels."""
    if image.mode in ("L", "1"):
        return True
    rgb = np.asarray(image.convert("RGB"))
    return bool((rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all())
