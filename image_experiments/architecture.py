"""Which network an image sweep trains and which of its layers RM compares: the appendix-B
CNN (:mod:`image_experiments.cnn`, the default) or a user's own Keras model.

A user's model is named ``package.module:function``; ``function(input_shape, classes)``
returns a Keras model mapping images float32 [batch, H, W, C] in [0, 1] to *logits*
[batch, classes] (no softmax on its output: the sweep takes log-softmax itself). The layers
compared by RM are named by ``layers`` (any named layer of the model; a layer's output
[batch, ...] is flattened to [batch, p]). Its initial weights are drawn by the model's own
initializers, made reproducible by seeding Keras (``keras.utils.set_random_seed``) from the
variant's initialisation stream just before ``function`` is called: the same seeds give the
same weights, different variants different ones.

Nothing here imports TensorFlow until a model is built; naming a model reads no file
but the module's source (for the unit hash: an edited builder is a new model).
"""
import dataclasses
import hashlib
import importlib
import importlib.util
import re
import sys
from pathlib import Path

from image_experiments.cnn import RM_LAYERS, build_cnn
from irrepro.errors import UserError

#: The built-in model's name.
CNN = "cnn"
_SPEC = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


@dataclasses.dataclass(frozen=True)
class Architecture:
    """A network to train: ``model`` ('cnn' or 'package.module:function'), the ``layers``
    RM compares (empty: the CNN's 'cnn' and 'fc1'), and, for the CNN only, its hidden
    ``activation``, ``beta`` and ``fc1_activation``."""

    model: str = CNN
    layers: tuple = ()
    activation: str = "relu"
    beta: float = 1.0
    fc1_activation: str = "none"

    def __post_init__(self):
        check_model(self.model, self.layers)
        if self.model != CNN and not self.layers:
            raise UserError(f"--model {self.model} needs --layers: name the layers RM compares "
                            "(Keras layer names, comma-separated)")
        if self.model != CNN:
            _module_file(self.model.split(":")[0])  # found (not imported) before any work
        if self.model != CNN and (self.activation != "relu" or self.fc1_activation != "none"):
            raise UserError(f"--activation and --fc1-activation shape the built-in CNN; the "
                            f"model {self.model} decides its own activations: leave them out")

    @property
    def rm_layers(self):
        """The names of the layers RM compares, in order."""
        return tuple(self.layers) or RM_LAYERS

    def build(self, input_shape, classes, rng=None):
        """A fresh Keras model for images ``input_shape`` (H, W, C) and ``classes`` logits.
        ``rng`` (a numpy Generator) draws its initial weights; None keeps Keras's own draw
        (for models whose weights are set afterwards)."""
        if self.model == CNN:
            model = build_cnn(input_shape, classes, self.activation, self.beta, rng,
                              self.fc1_activation)
        else:
            model = _build_user(self.model, input_shape, classes, rng)
        _check_layers(model, self.rm_layers, self.model)
        return model

    @classmethod
    def from_meta(cls, meta):
        """The architecture a stored unit's ``meta`` (its JSON dict) was trained with; units
        stored before models were selectable are the CNN."""
        return cls(meta.get("model", CNN), tuple(meta.get("layers") or ()),
                   meta.get("activation", "relu"), meta.get("beta", 1.0),
                   meta.get("fc1_activation", "none"))


def rm_layers_of(meta):
    """The RM layers a stored unit's ``meta`` names (the CNN's for units stored before
    models were selectable), read without looking for the model's module."""
    return tuple(meta.get("layers") or ()) or RM_LAYERS


def check_model(model, layers=()):
    """A UserError unless ``model`` is 'cnn' or 'package.module:function' and ``layers``
    names layers (a tuple of non-empty strings)."""
    if model != CNN and not _SPEC.match(str(model)):
        raise UserError(f"--model '{model}' is neither 'cnn' nor package.module:function "
                        "(e.g. --model mymodels:build)")
    if any(not isinstance(name, str) or not name.strip() for name in layers):
        raise UserError(f"--layers must name layers, comma-separated (got {list(layers)})")


def parse_layers(text):
    """'a, b' -> ('a', 'b'); None or '' -> ()."""
    return tuple(part.strip() for part in str(text or "").split(",") if part.strip())


def model_source_hash(model):
    """A short hash of the source file of ``model``'s module (None for the CNN), found
    without importing it, so that editing the builder changes the units' hashes."""
    if model == CNN:
        return None
    path = _module_file(model.split(":")[0])
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def _module_file(name):
    """The source file of module ``name``, looked up on sys.path and then in the current
    folder (where a user's models usually live)."""
    try:
        spec = importlib.util.find_spec(name)
        if spec is None and "" not in sys.path and str(Path.cwd()) not in sys.path:
            sys.path.append(str(Path.cwd()))
            spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.origin or not Path(spec.origin).is_file():
        raise UserError(f"cannot find the module '{name}' of --model: put it in the current "
                        "folder or on PYTHONPATH")
    return spec.origin


def resolve(model):
    """The builder function named by ``model`` ('package.module:function')."""
    module_name, function = model.split(":")
    _module_file(module_name)  # a clear error, and the current folder on sys.path
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # the user's code: report any failure in one line
        raise UserError(f"importing {module_name} for --model failed: "
                        f"{type(error).__name__}: {error}") from None
    builder = getattr(module, function, None)
    if not callable(builder):
        raise UserError(f"{module_name} has no function '{function}' for --model; define "
                        f"{function}(input_shape, classes) returning a Keras model")
    return builder


def _build_user(model, input_shape, classes, rng):
    from irrepro.tf import keras

    builder = resolve(model)
    if rng is not None:
        keras.utils.set_random_seed(int(rng.integers(2 ** 31)))
    try:
        built = builder(tuple(input_shape), int(classes))
    except Exception as error:
        raise UserError(f"--model {model}({tuple(input_shape)}, {classes}) failed: "
                        f"{type(error).__name__}: {error}") from None
    if not isinstance(built, keras.Model):
        raise UserError(f"--model {model} returned {type(built).__name__}, not a Keras model")
    shape = tuple(built.output.shape) if not isinstance(built.output, (list, tuple)) else ()
    if len(shape) != 2 or shape[-1] != classes:
        raise UserError(f"--model {model} must output logits [batch, {classes}] for this data "
                        f"set; its output has shape {shape or 'of several tensors'}")
    last = getattr(built.layers[-1], "activation", None)
    if getattr(last, "__name__", "") == "softmax":
        raise UserError(f"--model {model} ends in a softmax; return logits (the last Dense "
                        "without activation): the sweep applies the softmax itself")
    return built


def _check_layers(model, names, label):
    known = [layer.name for layer in model.layers]
    missing = [name for name in names if name not in known]
    if missing:
        raise UserError(f"--layers: model {label} has no layer {', '.join(missing)}; its layers "
                        f"are {', '.join(known)}")
