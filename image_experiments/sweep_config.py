"""An image sweep's parameters: the presets (configs/img_<name>.yaml), their layers (file <
smoke < command line, :mod:`irrepro.config`) and their validation, each concept checked once.
"""
import dataclasses
from pathlib import Path

from image_experiments.architecture import CNN, model_source_hash, parse_layers
from image_experiments.cnn import FC1_ACTIVATIONS
from image_experiments.report_options import SUBSET_PER  # noqa: F401  (the CLI's choices)
from image_experiments.training import REGIMES, VARY, TrainOptions, strategies
from image_experiments.transforms import JITTERS
from image_experiments.user_data import is_user_dataset
from irrepro.activations import check_activation
from irrepro.config import check_known, layered, read_yaml
from irrepro.errors import UserError
from irrepro.tables import config_hash

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
PRESETS = ("mnist", "fashion_mnist", "cifar9", "svhn", "digits")
REGIME_CHOICES = (*REGIMES, "both")
CHECKPOINTS = ("target", "final")  # Heljakka's risk equivalence, Ganesh's fixed epochs
#: The image CNN's activations (the identity would make it one linear map).
ACTIVATION_CHOICES = ("relu", "smelu", "swish")
RUN_ONLY = ("name", "scheduler", "workers")  # parameters that do not change a result
# Parameters that choose which units run, or decide a regime's target, which a unit's hash
# holds itself: leaving them out of the unit hash lets a sweep grow (another regime, more
# strategies) without retraining the units it already has.
SELECTION = ("regime", "strategies", "target_accuracy", "target_margin")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ImageSweep(TrainOptions):
    """The parameters of an image sweep (see configs/img_*.yaml for their meaning): how
    its variants train (the fields of :class:`~image_experiments.training.TrainOptions`,
    inherited, so that each is defined once) and what it trains.

    ``strategies``: values kept from each regime (None: all seven); ``train_subset`` /
    ``test_subset``: random subsets of that many images (None: all); ``target_accuracy``: a
    float, a mapping regime -> float, or None (found by the probe pass); ``scheduler`` /
    ``workers``: where the units run (see irrepro.executors), not part of the results.
    """

    name: str
    dataset: str
    regime: str = "both"
    variants: int = 10
    strategies: tuple | None = None
    train_subset: int | None = None
    test_subset: int | None = None
    target_accuracy: float | dict | None = None
    target_margin: float = 0.005
    rm_points: int = 2560
    jitter: str = "torchvision"
    vary: str = "both"
    checkpoint: str = "target"
    scheduler: str | None = None
    workers: int | None = None

    def __post_init__(self):
        if self.dataset not in PRESETS and not is_user_dataset(self.dataset):
            raise UserError(f"cannot sweep data set '{self.dataset}'; choose one of "
                            f"{', '.join(PRESETS)}, or give an .npz file or a folder of "
                            "class folders")
        if self.regime not in REGIME_CHOICES:
            raise UserError(f"unknown --regime '{self.regime}'; choose one of "
                            f"{', '.join(REGIME_CHOICES)}")
        if self.vary not in VARY:
            raise UserError(f"unknown vary '{self.vary}'; choose one of {', '.join(VARY)}")
        check_activation(self.activation)
        if self.fc1_activation not in FC1_ACTIVATIONS:
            raise UserError(f"unknown fc1 activation '{self.fc1_activation}'; choose "
                            f"{' or '.join(FC1_ACTIVATIONS)}")
        self.architecture()  # --model, --layers and the CNN's options checked together
        if self.jitter not in JITTERS:
            raise UserError(f"unknown jitter '{self.jitter}'; choose {' or '.join(JITTERS)}")
        if self.epochs_cap is not None and not self.epochs_cap >= self.epochs_max:
            raise UserError(f"--epochs-cap must be at least --epochs-max ({self.epochs_max}; "
                            f"got {self.epochs_cap})")
        # --checkpoint final: Ganesh's protocol (fixed epochs, the last evaluated) beside
        # Heljakka's risk-equivalent target
        if self.checkpoint not in CHECKPOINTS:
            raise UserError(f"unknown --checkpoint '{self.checkpoint}'; choose target or final")
        if self.checkpoint == "final" and self.pseudo_max:
            raise UserError("--pseudo-max needs risk-equivalent training; it does not go with "
                            "--checkpoint final")
        if self.variants < 2:
            raise UserError(f"--variants must be at least 2 (got {self.variants}): "
                            "multiplicity compares variants")
        for name in ("train_subset", "test_subset", "evals_per_epoch", "patience",
                     "rm_points"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise UserError(f"{name.replace('_', '-')} must be a positive integer "
                                f"(got {value})")
        if not self.epochs_max > 0:
            raise UserError(f"--epochs-max must be > 0 (got {self.epochs_max})")
        for regime in self.regimes():
            target = self.target_for(regime)
            if target is not None and not 0 < target <= 1:
                raise UserError(f"the target accuracy must be in (0, 1] (got {target})")
            strategies(regime, self.strategies)  # a UserError if none is selected

    def regimes(self):
        return list(REGIMES) if self.regime == "both" else [self.regime]

    def target_for(self, regime):
        """The given target accuracy of ``regime``, or None (to be found; never with
        --checkpoint final, which needs none)."""
        if self.checkpoint == "final":
            return None
        if isinstance(self.target_accuracy, dict):
            return self.target_accuracy.get(regime)
        return self.target_accuracy

    def train_options(self, pseudo_max=None):
        """Its :class:`TrainOptions` (``pseudo_max`` overrides its own when given); with
        --checkpoint final: no early stopping, epochs_max epochs."""
        options = {f.name: getattr(self, f.name) for f in dataclasses.fields(TrainOptions)}
        if pseudo_max is not None:
            options["pseudo_max"] = pseudo_max
        if self.checkpoint == "final":
            options.update(pseudo_max=False, patience=None)
        return TrainOptions(**options)

    def as_dict(self):
        params = dataclasses.asdict(self)
        params["strategies"] = list(self.strategies) if self.strategies else None
        params["layers"] = list(self.layers)
        # Defaults leave the dict as it was before they existed: older units' hashes hold.
        if params["checkpoint"] == "target":
            del params["checkpoint"]
        if params["model"] == CNN:
            del params["model"]
        else:  # an edited builder is another model
            params["model_source"] = model_source_hash(self.model)
        if not params["layers"]:
            del params["layers"]
        return params

    def config_hash(self):
        """A short stable hash of the parameters that change results (not RUN_ONLY)."""
        return config_hash({k: v for k, v in self.as_dict().items() if k not in RUN_ONLY})

    def training_hash(self):
        """A short stable hash of the parameters that decide how a strategy's variants
        train and are measured (not RUN_ONLY, not SELECTION)."""
        return config_hash({k: v for k, v in self.as_dict().items()
                            if k not in RUN_ONLY + SELECTION})


def config_path(name):
    """The YAML of a preset NAME (configs/img_<name>.yaml) or NAME itself if it is a file."""
    path = Path(name)
    if is_user_dataset(name):
        return CONFIG_DIR / "img_user.yaml"
    if path.suffix in (".yaml", ".yml"):
        return path
    if name not in PRESETS:
        raise UserError(f"unknown sweep '{name}'; choose one of {', '.join(PRESETS)} or give "
                        "a YAML file")
    return CONFIG_DIR / f"img_{name}.yaml"


def parse_strategies(text):
    """'1e-3,64' as a tuple of floats."""
    try:
        return tuple(float(part) for part in str(text).split(",") if part.strip())
    except ValueError:
        raise UserError(f"strategies '{text}' is not a comma-separated list of numbers; "
                        "e.g. --strategies 1e-3,1e-4,64") from None


def load_sweep(name, overrides=None, smoke=False):
    """The :class:`ImageSweep` of preset or file ``name``, with its 'smoke' block applied
    when ``smoke`` and then ``overrides`` (flags and ``--set`` pairs, a dict; None values
    are flags not given)."""
    path = config_path(name)
    config = read_yaml(path, "configs/img_digits.yaml")
    fields = {f.name for f in dataclasses.fields(ImageSweep)}
    smoke_block = dict(config.pop("smoke", None) or {})
    check_known(config, fields, str(path), (config, ()))
    check_known(smoke_block, fields, f"{path}'s smoke block", (config, ("smoke",)))
    check_known(overrides or {}, fields, "the command-line overrides")
    params = layered(dict(config), smoke_block if smoke else None, overrides)
    if isinstance(params.get("strategies"), str):
        params["strategies"] = parse_strategies(params["strategies"])
    if is_user_dataset(name):
        params.setdefault("dataset", str(name))
        params.setdefault("name", f"img-{Path(str(name)).stem}")
    params.setdefault("name", f"img-{path.stem.removeprefix('img_')}")
    if params.get("strategies") is not None:
        params["strategies"] = tuple(float(v) for v in params["strategies"])
    if "layers" in params:  # 'a,b' on the command line, a list in YAML
        layers = params["layers"]
        params["layers"] = parse_layers(layers) if isinstance(layers, str) else tuple(layers or ())
    try:
        return ImageSweep(**params)
    except TypeError as error:
        raise UserError(f"sweep config {path}: {error}") from None
