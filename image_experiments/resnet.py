"""CIFAR-sized residual networks in Keras (He et al., 2016), as Ganesh (2023, appendix A)
uses for CIFAR10-Skewed: "a modified ResNet18 adapted for 32x32 images", i.e. the common
CIFAR variant: a 3x3 stride-1 stem without max-pooling, four stages of basic blocks
(ResNet-18: 2-2-2-2, ResNet-34: 3-4-6-3) of width w, 2w, 4w, 8w (w = 64 at full width;
smaller ``width`` for smoke scales), strides 1-2-2-2, batch normalisation after every
convolution, 1x1 convolution + BN shortcuts where the shape changes, global average pooling
and a dense layer to logits.

Initial weights come from seeded Keras initialisers (He-normal convolutions, Glorot-uniform
dense kernel, zero biases, BN gamma 1 and beta 0, Keras's defaults for those), each layer's
seed drawn from the model's numpy Generator: one seed gives one network on any device,
without touching Keras's global RNG and without zeroing BN's gamma.
"""
import keras
from keras import layers

BLOCKS = {"resnet18": (2, 2, 2, 2), "resnet34": (3, 4, 6, 3)}
BN = {"momentum": 0.9, "epsilon": 1e-5}  # PyTorch's BatchNorm2d defaults, as in his setup


class _Seeds:
    def __init__(self, rng):
        self.rng = rng

    def __call__(self):
        return int(self.rng.integers(0, 2**31 - 1))


def _conv(filters, kernel, stride, seeds, name):
    return layers.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=False,
                         kernel_initializer=keras.initializers.HeNormal(seed=seeds()),
                         name=name)


def _block(x, filters, stride, seeds, name):
    out = _conv(filters, 3, stride, seeds, f"{name}_conv1")(x)
    out = layers.ReLU(name=f"{name}_relu1")(layers.BatchNormalization(**BN,
                                                                      name=f"{name}_bn1")(out))
    out = _conv(filters, 3, 1, seeds, f"{name}_conv2")(out)
    out = layers.BatchNormalization(**BN, name=f"{name}_bn2")(out)
    if stride != 1 or x.shape[-1] != filters:
        x = _conv(filters, 1, stride, seeds, f"{name}_short")(x)
        x = layers.BatchNormalization(**BN, name=f"{name}_shortbn")(x)
    return layers.ReLU(name=f"{name}_out")(layers.Add(name=f"{name}_add")([out, x]))


def build_resnet(input_shape, classes, rng, depth="resnet18", width=64):
    """A CIFAR ResNet (see the module docs) from images ``input_shape`` (H, W, C) to logits
    [batch, classes]; ``rng`` (numpy Generator) seeds every initialiser."""
    if depth not in BLOCKS:
        raise ValueError(f"unknown ResNet '{depth}'; choose {', '.join(BLOCKS)}")
    seeds = _Seeds(rng)
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = _conv(width, 3, 1, seeds, "stem")(inputs)
    x = layers.ReLU(name="stem_relu")(layers.BatchNormalization(**BN, name="stem_bn")(x))
    for stage, blocks in enumerate(BLOCKS[depth]):
        for b in range(blocks):
            stride = 2 if stage > 0 and b == 0 else 1
            x = _block(x, width * 2 ** stage, stride, seeds, f"s{stage + 1}b{b + 1}")
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    logits = layers.Dense(classes, kernel_initializer=keras.initializers.GlorotUniform(
        seed=seeds()), name="logits")(x)
    return keras.Model(inputs, logits, name=f"{depth}_w{width}")
