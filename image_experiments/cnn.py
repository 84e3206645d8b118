"""The CNN of Heljakka et al. (2023, appendix B), built as a Keras model with named layers.

    conv(48,3)-A-MaxPool2-conv(96,3)-A-MaxPool2-conv(80,3)-A-conv(96,3)-A
    -Flatten ('cnn') -FC(512) ('fc1') -FC(classes) ('logits')

A is the activation (ReLU in the paper; SmeLU or Swish from ``irrepro.keras_activations``). By
default the two fully connected layers have no activation between them: appendix B writes
"ReLU - FC(96, 512) - FC(512, 10)" and DESIGN.md fixes the same, so 'fc1' is an affine map
of 'cnn' (512 neurons of rank at most 96 for MNIST, 384 for CIFAR) and spans the same
subspace of the data: their SVCCA differs only through the 99% cut, and agreement of the two
layers is not independent evidence. ``fc1_activation='relu'`` puts a ReLU after FC(512)
(then 'fc1' is that ReLU's output), for a second layer that is not an affine image of the
first. The model outputs logits; class probabilities are their softmax.

Padding is 'valid' as in the paper wherever the stack fits: inputs of at least 26x26 pixels
(MNIST-like 28x28 gives a 1x1x96 'cnn' layer = 96 neurons, CIFAR-like 32x32 a 2x2x96 one =
384 neurons, the paper's FC(96, 512) and FC(384, 512)). Smaller inputs (the 8x8 digits) would
shrink to nothing, so for them every convolution uses 'same' padding instead (8x8 gives 2x2x96
= 384 neurons); resizing them up would cost ~10x more compute for no new information.

The architecture's constants need no TensorFlow; the builders import it when called.

Initial weights come from a numpy Generator (Glorot-uniform kernels, zero biases, Keras's
defaults), so one initialisation seed gives the same network whatever Keras's global RNG
state, on any device.
"""
import numpy as np

from irrepro.errors import UserError

FILTERS = (48, 96, 80, 96)
KERNEL = 3
FC_UNITS = 512
#: Smallest square input the valid-padding stack accepts: 26 -> 24 -> 12 -> 10 -> 5 -> 3 -> 1.
MIN_VALID_SIZE = 26
#: The layers whose activations RM compares.
RM_LAYERS = ("cnn", "fc1")
#: What may follow FC(512): nothing (appendix B) or a ReLU.
FC1_ACTIVATIONS = ("none", "relu")


def padding_for(input_shape):
    """'valid' (the paper's) when the conv stack fits ``input_shape`` (H, W, C), else 'same'."""
    return "valid" if min(input_shape[:2]) >= MIN_VALID_SIZE else "same"


def build_cnn(input_shape, classes, activation="relu", beta=1.0, rng=None,
              fc1_activation="none"):
    """The appendix-B CNN for images ``input_shape`` = (H, W, C) and ``classes`` outputs.

    Input float32 [batch, H, W, C]; output logits float32 [batch, classes]. Layers named
    'cnn' (flattened last conv map) and 'fc1' (the 512-unit layer, affine unless
    ``fc1_activation`` is 'relu') feed RM. ``rng`` (a numpy Generator) draws the initial
    weights; None keeps Keras's own draw.
    """
    if fc1_activation not in FC1_ACTIVATIONS:
        raise UserError(f"unknown fc1 activation '{fc1_activation}'; choose "
                        f"{' or '.join(FC1_ACTIVATIONS)}")
    from irrepro.keras_activations import get_activation
    from irrepro.tf import keras

    layers = keras.layers
    act = get_activation(activation, beta)
    padding = padding_for(input_shape)
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = inputs
    for i, filters in enumerate(FILTERS):
        x = layers.Conv2D(filters, KERNEL, padding=padding, activation=act, name=f"conv{i + 1}")(x)
        if i < 2:
            x = layers.MaxPooling2D(2, name=f"pool{i + 1}")(x)
    x = layers.Flatten(name="cnn")(x)
    x = layers.Dense(FC_UNITS, activation=None if fc1_activation == "none" else "relu",
                     name="fc1")(x)
    logits = layers.Dense(classes, name="logits")(x)
    model = keras.Model(inputs, logits, name="cnn_" + activation)
    if rng is not None:
        model.set_weights(initial_weights(model, rng))
    return model


def initial_weights(model, rng):
    """Glorot-uniform kernels and zero biases for ``model``'s weights, drawn from ``rng`` in
    layer order (a list of float32 arrays in ``model.get_weights()`` order)."""
    weights = []
    for w in model.weights:
        shape = tuple(w.shape)
        if len(shape) == 1:
            weights.append(np.zeros(shape, np.float32))
            continue
        receptive = int(np.prod(shape[:-2]))  # 3x3 for convolutions, 1 for dense kernels
        fan_in, fan_out = receptive * shape[-2], receptive * shape[-1]
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        weights.append(rng.uniform(-limit, limit, shape).astype(np.float32))
    return weights


def activation_model(model, names=RM_LAYERS):
    """A Keras model sharing ``model``'s weights whose outputs are the activations of the
    layers ``names``: by default 'cnn' [batch, h*w*96] and 'fc1' [batch, 512]."""
    from irrepro.tf import keras

    return keras.Model(model.input, [model.get_layer(name).output for name in names])


def probe_outputs(probe, x):
    """The outputs of ``probe`` (an :func:`activation_model`) on x, as a list with one
    tensor [n, p] per layer: a layer's output [n, ...] flattened to p features (a Keras
    model of one output returns that tensor alone, not a list)."""
    from irrepro.tf import tf

    outputs = probe(x, training=False)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    return [tf.reshape(out, (tf.shape(out)[0], -1)) for out in outputs]
