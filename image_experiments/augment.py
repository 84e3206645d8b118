"""Training augmentations of Ganesh's (2023) augmentation axis, seeded per model.

``randaugment``     Keras 3's ``keras.layers.RandAugment`` (Cubuk et al., 2020) on pixels in
                    [0, 1]: ``num_ops`` = 2 operations per image at ``factor`` (the study
                    config's ``randaugment_factor``, 0.3: about torchvision's default
                    magnitude 9 of 31 bins), compiled once per image
                    shape; each model's stream is set by reseeding the layer's seed
                    generators to (seed, 0), which is what ``RandAugment(seed=seed)`` starts
                    from.
``trivialaugment``  TrivialAugment "wide" (Mueller & Hutter, 2021), which Keras 3.15 does not
                    ship: for every image, one operation drawn uniformly from the 14 below
                    and one strength drawn uniformly from 31 bins (0..30), a random sign for
                    the signed ones; the wide ranges of the paper (and torchvision's
                    TrivialAugmentWide): shear 0..0.99, translate 0..32 pixels, rotate
                    0..135 degrees, brightness / colour / contrast / sharpness factor 1 +-
                    0..0.99, posterize 8..2 bits, solarize threshold 1..0; identity,
                    autocontrast and equalize take no strength. Geometric operations use
                    ``keras.ops.image.affine_transform`` (nearest, zero fill, about the
                    image centre); the others are NumPy on the image (posterize and
                    equalize on its 8-bit form). Draws: a NumPy Generator per model.
``none``            no augmentation.
"""
import numpy as np

KINDS = ("randaugment", "trivialaugment", "none")
BINS = 31
RANDAUGMENT_OPS = 2
TA_OPS = ("identity", "shear_x", "shear_y", "translate_x", "translate_y", "rotate",
          "brightness", "color", "contrast", "sharpness", "posterize", "solarize",
          "autocontrast", "equalize")
SIGNED = {"shear_x", "shear_y", "translate_x", "translate_y", "rotate", "brightness", "color",
          "contrast", "sharpness"}


def ta_magnitude(op, bin_, size=32):
    """TrivialAugment-wide's unsigned strength of ``op`` at bin 0..30."""
    ranges = {"shear_x": (0, 0.99), "shear_y": (0, 0.99), "translate_x": (0, size),
              "translate_y": (0, size), "rotate": (0, 135.0), "brightness": (0, 0.99),
              "color": (0, 0.99), "contrast": (0, 0.99), "sharpness": (0, 0.99),
              "solarize": (1.0, 0.0)}
    if op == "posterize":
        return int(8 - round(bin_ / ((BINS - 1) / 6)))
    if op in ranges:
        low, high = ranges[op]
        return float(np.linspace(low, high, BINS)[bin_])
    return 0.0


def _luma(x):
    if x.shape[-1] != 3:
        return x[..., 0]
    return x[..., 0] * 0.299 + x[..., 1] * 0.587 + x[..., 2] * 0.114


def _blend(a, b, factor):
    """b + factor (a - b), clipped: PIL's ImageEnhance with degenerate image b."""
    return np.clip(b + factor * (a - b), 0, 1)


def _smooth(x):
    """PIL's SMOOTH filter (3x3 kernel, centre 5, sum 13) inside, the border unchanged."""
    out = x.copy()
    acc = sum(x[dy:x.shape[0] - 2 + dy, dx:x.shape[1] - 2 + dx]
              for dy in range(3) for dx in range(3)) + 4 * x[1:-1, 1:-1]
    out[1:-1, 1:-1] = acc / 13
    return out


def _equalize(x):
    """Per-channel histogram equalisation of an 8-bit image (PIL / torchvision's rule)."""
    q = np.round(x * 255).astype(np.int64)
    out = np.empty_like(x)
    for c in range(x.shape[-1]):
        channel = q[..., c]
        hist = np.bincount(channel.ravel(), minlength=256)
        last = hist[np.flatnonzero(hist)[-1]]
        step = (hist.sum() - last) // 255
        if step == 0:
            out[..., c] = x[..., c]
            continue
        lut = np.clip((np.concatenate([[0], np.cumsum(hist)[:-1]]) + step // 2) // step, 0, 255)
        out[..., c] = lut[channel] / 255
    return out


def _affine(op, value, h, w):
    """The inverse map (output -> input point) of a geometric op, Keras's 8-vector."""
    cy, cx = (h - 1) / 2, (w - 1) / 2
    if op == "shear_x":
        return [1, value, -value * cy, 0, 1, 0, 0, 0]
    if op == "shear_y":
        return [1, 0, 0, value, 1, -value * cx, 0, 0]
    if op == "translate_x":
        return [1, 0, -value, 0, 1, 0, 0, 0]
    if op == "translate_y":
        return [1, 0, 0, 0, 1, -value, 0, 0]
    angle = np.deg2rad(value)
    cos, sin = np.cos(angle), np.sin(angle)
    return [cos, -sin, cx - cos * cx + sin * cy, sin, cos, cy - sin * cx - cos * cy, 0, 0]


def trivial_augment(x, rng):
    """TrivialAugment-wide of a batch x float32 [b, H, W, C] in [0, 1] (module docs)."""
    import keras

    x = np.asarray(x, np.float32)
    b, h, w, _ = x.shape
    ops = rng.integers(0, len(TA_OPS), b)
    bins = rng.integers(0, BINS, b)
    signs = np.where(rng.random(b) < 0.5, -1.0, 1.0)
    out = x.copy()
    transforms = np.tile(np.array([1, 0, 0, 0, 1, 0, 0, 0], np.float32), (b, 1))
    geometric = np.zeros(b, bool)
    for i in range(b):
        op = TA_OPS[ops[i]]
        value = ta_magnitude(op, int(bins[i]), w) * (signs[i] if op in SIGNED else 1.0)
        image = x[i]
        if op in ("shear_x", "shear_y", "translate_x", "translate_y", "rotate"):
            transforms[i] = _affine(op, value, h, w)
            geometric[i] = True
        elif op == "brightness":
            out[i] = _blend(image, np.zeros_like(image), 1 + value)
        elif op == "color":
            out[i] = _blend(image, np.repeat(_luma(image)[..., None], image.shape[-1], -1),
                            1 + value)
        elif op == "contrast":
            out[i] = _blend(image, np.full_like(image, _luma(image).mean()), 1 + value)
        elif op == "sharpness":
            out[i] = _blend(image, _smooth(image), 1 + value)
        elif op == "posterize":
            q = np.round(image * 255).astype(np.uint8)
            out[i] = (q & np.uint8((0xFF << (8 - int(value))) & 0xFF)) / 255
        elif op == "solarize":
            out[i] = np.where(image >= value, 1 - image, image)
        elif op == "autocontrast":
            low, high = image.min(axis=(0, 1)), image.max(axis=(0, 1))
            scale = np.where(high > low, high - low, 1)
            out[i] = np.where(high > low, (image - low) / scale, image)
        elif op == "equalize":
            out[i] = _equalize(image)
    if geometric.any():
        moved = keras.ops.image.affine_transform(x[geometric], transforms[geometric],
                                                 interpolation="nearest",
                                                 fill_mode="constant", fill_value=0)
        out[geometric] = np.asarray(moved)
    return out.astype(np.float32)


class Augmenter:
    """The training augmentation ``kind`` (module docs) for images of ``shape`` (H, W, C);
    :meth:`reseed` starts a model's stream, calling it augments a batch (NumPy in and out).
    """

    def __init__(self, kind, shape, factor=0.3):
        if kind not in KINDS:
            raise ValueError(f"unknown augmentation '{kind}'; choose {', '.join(KINDS)}")
        self.kind, self.shape = kind, tuple(shape)
        self._rng = None
        if kind == "randaugment":
            import keras
            import tensorflow as tf

            self.layer = keras.layers.RandAugment(value_range=(0, 1), seed=0,
                                                  num_ops=RANDAUGMENT_OPS, factor=factor)
            self._apply = tf.function(lambda images: self.layer(images, training=True),
                                      input_signature=[tf.TensorSpec([None, *self.shape],
                                                                     tf.float32)])

    def reseed(self, seed):
        """Start the stream of one model (``seed`` a non-negative int)."""
        from irrepro.streams import Role, rng_for

        self._rng = rng_for(seed, Role.TRIVIAL_AUGMENT)
        if self.kind == "randaugment":
            for variable in self.layer.variables:  # the seed generators' [seed, counter]
                variable.assign(np.array([seed, 0], np.int64))

    def __call__(self, x):
        if self.kind == "none":
            return np.asarray(x, np.float32)
        if self._rng is None:
            raise RuntimeError("reseed the augmenter before using it")
        if self.kind == "randaugment":
            return np.clip(np.asarray(self._apply(np.asarray(x, np.float32))), 0, 1)
        return trivial_augment(x, self._rng)
