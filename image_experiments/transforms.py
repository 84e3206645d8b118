"""Out-of-distribution (OOD) test sets (Heljakka et al., 2023, appendix B).

Images are float32 [n, H, W, C] in [0, 1]. Each transform of the i.i.d. test set draws its
randomness from its own stream ``(seed, name)``, so a set is the same whatever other sets
are built, in any order, on any machine:

  xflip       horizontal flip of each image with probability 0.9
  jitter      colour jitter as torchvision's ColorJitter(brightness=0.3, hue=0.1), the
              convention of the paper's "brightness uniformly with a factor 0.0 to 0.3 and
              hue by a factor -0.1 to +0.1": a brightness factor uniform in [0.7, 1.3]
              (pixels times the factor, clipped to [0, 1]) and, for colour images, a hue
              shift uniform in [-0.1, 0.1] of the hue circle, the two applied in a random
              order per image as ColorJitter does; grayscale images get only the brightness
              factor. ``jitter='darken'`` is the earlier reading, ColorJitter(brightness=
              (0, 0.3)): factors uniform in [0, 0.3], images darkened to at most 30%, then
              the hue shift
  pixelate    mean over 2x2 blocks, upsampled back: every 2x2 block constant
  rot<lo>-<hi>  rotation counter-clockwise by an angle uniform in [lo, hi] degrees about the
              image centre (bilinear, black outside); ten ranges 0-20, 10-30, ..., 90-110.
              The paper lists "0...20, 20...30, etc., up to 90...110" for "10 OOD test
              cases", nine ranges if read literally; the ten 20-degree ranges starting every
              10 degrees are the reading chosen here

Cross-data sets replace the test set by another data set's test split with the same labels:
SVHN for MNIST (converted to grayscale and resized to 28x28) and STL-9 for CIFAR-9
(area-averaged to 32x32, classes matched by name). A missing cross-data file skips that set
with a one-line note.
"""
import zlib
from dataclasses import dataclass

import numpy as np

from image_experiments.datasets import load_dataset
from image_experiments.locations import DatasetMissing
from irrepro.streams import Role, rng_for

FLIP_PROBABILITY = 0.9
#: Colour-jitter readings: brightness factor range, and whether hue and brightness come in a
#: random order per image (torchvision's ColorJitter) or brightness first.
JITTERS = {"torchvision": (0.7, 1.3), "darken": (0.0, 0.3)}
BRIGHTNESS_FACTOR = JITTERS["torchvision"]
HUE_SHIFT = (-0.1, 0.1)
#: The shape each data set trains at when it differs from its files' (appendix B trains SVHN
#: on the 1-channel stack ending in FC(96, 512)).
TRAINING_SHAPE = {"svhn": (28, 28, 1)}
CONVERT_CHUNK = 4096  # images converted at a time (SVHN's 73k float images would be 0.9 GB)
PIXELATE_FACTOR = 2
ROTATION_RANGES = tuple((lo, lo + 20) for lo in [0, *range(10, 100, 10)])
#: The cross-data set of each training data set.
CROSS_DATA = {"mnist": "svhn", "cifar9": "stl9"}
GRAY = np.array([0.299, 0.587, 0.114], np.float32)  # ITU-R 601 luma weights


@dataclass(frozen=True, eq=False)
class OODSet:
    """One evaluation set: ``x`` float32 [n, H, W, C] in [0, 1], ``y`` int64 [n]."""

    name: str
    x: np.ndarray
    y: np.ndarray


def to_float(images):
    """uint8 images [n, H, W, C] as float32 in [0, 1]."""
    return np.asarray(images, np.float32) / 255.0


def training_images(dataset, images):
    """uint8 images [n, H, W, C] of ``dataset`` as float32 in [0, 1] at the shape it trains
    at: :data:`TRAINING_SHAPE` (SVHN: grey 28x28, by :func:`match_shape`, the conversion that
    makes SVHN an OOD set for MNIST), else unchanged. Converted in chunks."""
    shape = TRAINING_SHAPE.get(dataset)
    if shape is None or len(images) == 0:
        return to_float(images)
    return np.concatenate([match_shape(to_float(images[i:i + CONVERT_CHUNK]), shape)
                           for i in range(0, len(images), CONVERT_CHUNK)])


def xflip(x, rng, p=FLIP_PROBABILITY):
    """Each image mirrored left-right with probability ``p``: float32 [n, H, W, C]."""
    flip = rng.random(len(x)) < p
    return np.where(flip[:, None, None, None], x[:, :, ::-1], x)


def color_jitter(x, rng, brightness=BRIGHTNESS_FACTOR, hue=HUE_SHIFT, random_order=True):
    """Brightness scaled by a factor uniform in ``brightness`` (clipped to [0, 1]) and (3
    channels only) the hue shifted by a uniform draw from ``hue`` (fraction of the colour
    circle); with ``random_order`` each colour image takes the two in a random order, as
    torchvision's ColorJitter does, else brightness first."""
    factor = rng.uniform(*brightness, size=len(x)).astype(np.float32)

    def brighten(images, f):
        return np.clip(images * f[:, None, None, None], 0.0, 1.0)

    if x.shape[-1] != 3:
        return brighten(x, factor)
    shift = rng.uniform(*hue, size=len(x))
    hue_first = rng.random(len(x)) < 0.5 if random_order else np.zeros(len(x), bool)
    out = np.array(x, np.float32)
    out[hue_first] = _shift_hue(out[hue_first], shift[hue_first])
    out = brighten(out, factor)
    out[~hue_first] = _shift_hue(out[~hue_first], shift[~hue_first])
    return out


def jitter_set(x, rng, reading="torchvision"):
    """The colour-jitter OOD images of x under ``reading`` (a key of :data:`JITTERS`):
    'torchvision' draws the order of brightness and hue per image, 'darken' (the earlier
    reading) darkens first."""
    return color_jitter(x, rng, JITTERS[reading], HUE_SHIFT,
                        random_order=reading == "torchvision")


def _shift_hue(x, shift):
    """RGB images [n, H, W, 3] with their hue moved by ``shift`` [n] (fraction of the circle)."""
    from matplotlib.colors import hsv_to_rgb, rgb_to_hsv

    if not len(x):
        return x
    hsv = rgb_to_hsv(np.clip(x, 0.0, 1.0))
    hsv[..., 0] = np.mod(hsv[..., 0] + shift[:, None, None], 1.0)
    return hsv_to_rgb(hsv).astype(np.float32)


def pixelate(x, factor=PIXELATE_FACTOR):
    """Downsample by ``factor`` (block means) and upsample back (each block constant)."""
    n, height, width, channels = x.shape
    if height % factor or width % factor:
        raise ValueError(f"pixelate needs image sides divisible by {factor}, got {height}x{width}")
    blocks = x.reshape(n, height // factor, factor, width // factor, factor, channels)
    means = blocks.mean(axis=(2, 4), keepdims=True)
    return np.broadcast_to(means, blocks.shape).reshape(x.shape).astype(np.float32)


def rotation_angles(n, rng, lo, hi):
    """n angles in degrees, uniform in [lo, hi]."""
    return rng.uniform(lo, hi, size=n)


def rotate(x, angles):
    """Image i rotated counter-clockwise by angles[i] degrees about its centre, same size,
    bilinear interpolation, zeros outside the original: float32 [n, H, W, C]."""
    import scipy.ndimage  # loads in about 0.2 s: only when rotating

    return np.stack([scipy.ndimage.rotate(image, angle, axes=(1, 0), reshape=False, order=1,
                                          mode="constant", cval=0.0)
                     for image, angle in zip(x, angles)]).astype(np.float32)


def stream(seed, name):
    """The random stream of the OOD set ``name`` under ``seed``."""
    return rng_for(seed, Role.OOD, zlib.crc32(name.encode()))


def rotation_name(lo, hi):
    return f"rot{lo}-{hi}"


def transformed_sets(x, y, seed, jitter="torchvision"):
    """The transformed OOD sets of the test set x float32 [n, H, W, C], y [n], in the order
    xflip, jitter (read as ``jitter``), pixelate, rot0-20, ..., rot90-110 (a list of
    :class:`OODSet`)."""
    sets = [OODSet("xflip", xflip(x, stream(seed, "xflip")), y),
            OODSet("jitter", jitter_set(x, stream(seed, "jitter"), jitter), y),
            OODSet("pixelate", pixelate(x), y)]
    for lo, hi in ROTATION_RANGES:
        name = rotation_name(lo, hi)
        sets.append(OODSet(name, rotate(x, rotation_angles(len(x), stream(seed, name), lo, hi)),
                           y))
    return sets


def cross_data_set(dataset, shape, data_dir=None):
    """The cross-data OOD set of ``dataset`` shaped like its images ``shape`` (H, W, C), or
    (None, note) when it has none or its files are missing: (OODSet or None, str)."""
    other = CROSS_DATA.get(dataset)
    if other is None:
        return None, ""
    try:
        data = load_dataset(other, data_dir, image_size=shape[0] if other == "stl9" else None)
    except DatasetMissing:
        return None, (f"{other} files not found, so the {other} OOD set is skipped "
                      f"(`imgctl data fetch {other}` gets them)")
    return OODSet(other, match_shape(to_float(data.x_test), shape), data.y_test), ""


def match_shape(x, shape):
    """Images float32 [n, h, w, c] converted to ``shape`` (H, W, C): grayscale by luma when
    C = 1 and c = 3, then resized bilinearly (antialiased) when the sides differ."""
    from irrepro.tf import tf

    if shape[2] == 1 and x.shape[-1] == 3:
        x = (x @ GRAY)[..., None]
    if x.shape[1:3] != tuple(shape[:2]):
        x = tf.image.resize(x, shape[:2], method="bilinear", antialias=True).numpy()
    return np.clip(x, 0.0, 1.0).astype(np.float32)


def ood_sets(dataset, x, y, seed, data_dir=None, jitter="torchvision"):
    """Every OOD set of ``dataset``'s test set (x float32 [n, H, W, C], y [n]): the
    transformed sets, then its cross-data set where it has one and the files are present.
    Returns (list of OODSet, list of one-line notes on skipped sets)."""
    sets = transformed_sets(x, y, seed, jitter)
    cross, note = cross_data_set(dataset, x.shape[1:], data_dir)
    if cross is not None:
        sets.append(cross)
    return sets, [note] if note else []
