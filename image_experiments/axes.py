"""Ganesh's (2023) study: models trained along his axes of multiplicity, each value with
several seeds, fixed epochs, the last epoch evaluated under his interventions.

A study config (configs/img_cifar10_skewed.yaml; ``study: ganesh`` marks one) names the
default training configuration (learning rate, batch size, augmentation, optimizer,
architecture) and the axes: for each axis the values it takes while the others keep their
defaults, as in his Fig. 1-14 (one table per axis). Every *configuration* (the default plus
each non-default axis value) trains ``seeds`` models; seed k controls every random choice of
its model (initial weights, mini-batch order, augmentation draws), as his "single random
seed". The default configuration is one set of models shared by every axis's table: training
it again per table would repeat the same seeds, so give the same models.

Units (one per configuration and seed, written atomically, skipped when present, so an
interrupted study resumes) store, after the last epoch (``checkpoint: final``):

    meta            JSON: the configuration, seed, training parameters, times, provenance
    history         float32 [epochs, 2]: training loss and test accuracy after each epoch
    labels          int16 [N]: test labels (the same for every evaluation set)
    group.<name>    bool [N]: the data set's named groups (image_experiments.skewed)
    logp.<set>      float16 [N, C]: log class probabilities on 'test', each OOD set and
                    'input_noise_<lambda>' (the test set with input perturbation)
    pgd             float64 [budgets]: accuracy under L-inf PGD at each budget, on the
                    fixed attacked subset of the test set (image_experiments.attacks)

Layout under OUT: OUT/study.json (the study's parameters, for ``imgctl report``) and
OUT/units/<configuration>-s<seed>-<hash>.npz; the hash covers every parameter that changes
the model, so a changed study trains new units.

Random stream roles: 120 input noise, 121-124 CIFAR10-Skewed, 125 the stand-in data, 126
TrivialAugment, 127 initial weights, 128 mini-batch order, 129 a model's augmentation seed;
output noise keeps the report's 106 and the attacked subset the attacks' 107.
"""
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import yaml

from irrepro import __version__
from irrepro.config import check_known, layered, read_yaml
from irrepro.errors import UserError
from irrepro.progress import progress_bar
from irrepro.streams import Role, rng_for
from irrepro.tables import check_writable, config_hash, git_commit, write_atomic

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
STUDIES = ("cifar10_skewed",)
AXES = ("lr", "batch", "augmentation", "optimizer", "architecture")
OPTIMIZERS = ("sgd", "adam")
ARCHITECTURES = ("resnet18", "resnet34")
RUN_ONLY = ("name", "estimated_cost", "paper", "metrics", "unforeseen", "top_percents",
            "noise_rates", "extra_sheets")  # read by the report only: they change no unit


@dataclasses.dataclass(frozen=True)
class Study:
    """A study's parameters (configs/img_cifar10_skewed.yaml explains each)."""

    name: str
    dataset: str
    defaults: dict
    axes: dict
    seeds: int = 5
    epochs: int = 20
    width: int = 64
    sgd_momentum: float = 0.9
    adam_lr: float = 1e-3
    randaugment_factor: float = 0.3
    checkpoint: str = "final"
    train_subset: int | None = None
    test_subset: int | None = None
    eval_batch: int = 500
    input_noise_rate: float = 1.0
    pgd_budgets: tuple = (0.005, 0.01)
    pgd_steps: int = 10
    pgd_points: int = 1000
    noise_rates: tuple = (5.0,)
    metrics: tuple = ("accuracy", "group_gs_minority", "ood_cifar10_gs", "noise_5",
                      "pgd_0.005")
    unforeseen: tuple = ("group_colour_minority", "ood_cifar10_colour", "input_noise_1",
                         "pgd_0.01")
    top_percents: tuple = (75.0, 50.0)
    extra_sheets: tuple = ()
    paper: dict | None = None
    estimated_cost: str = ""
    seed: int = 0

    def __post_init__(self):
        if self.dataset not in STUDIES:
            raise UserError(f"no study of data set '{self.dataset}'; choose "
                            f"{', '.join(STUDIES)}")
        if self.checkpoint != "final":
            raise UserError(f"--checkpoint {self.checkpoint}: Ganesh's study evaluates the "
                            "last epoch of a fixed number of epochs; give --checkpoint final")
        missing = [a for a in AXES if a not in self.defaults]
        unknown = [a for a in (*self.defaults, *self.axes) if a not in AXES]
        if missing or unknown:
            raise UserError(f"study {self.name}: defaults need {', '.join(AXES)}"
                            + (f"; unknown axis {', '.join(unknown)}" if unknown else ""))
        for axis, values in self.axes.items():
            if not values:
                raise UserError(f"study {self.name}: axis {axis} has no values")
        for config in self.configurations():
            check_configuration(config)
        for name, value in (("seeds", self.seeds), ("epochs", self.epochs),
                            ("width", self.width), ("pgd_steps", self.pgd_steps),
                            ("pgd_points", self.pgd_points), ("eval_batch", self.eval_batch)):
            if not (isinstance(value, int) and value >= 1):
                raise UserError(f"{name} must be a positive integer (got {value})")
        if self.seeds < 2:
            raise UserError(f"--variants (seeds per value) must be at least 2 (got "
                            f"{self.seeds}): multiplicity compares seeds")
        for name in ("train_subset", "test_subset"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise UserError(f"{name.replace('_', '-')} must be a positive integer")
        if min(self.pgd_budgets, default=0) < 0 or not self.pgd_budgets:
            raise UserError("pgd_budgets must be budgets >= 0")
        if not self.input_noise_rate > 0 or min(self.noise_rates, default=0) <= 0:
            raise UserError("noise rates lambda must be > 0")

    def configurations(self):
        """The distinct training configurations: the default, then each axis's other values
        (dicts over AXES)."""
        found = [dict(self.defaults)]
        for axis, values in self.axes.items():
            for value in values:
                config = {**self.defaults, axis: value}
                if config not in found:
                    found.append(config)
        return found

    def rows(self):
        """[(axis, value, configuration)] for the sheets: every axis's values in order."""
        return [(axis, value, {**self.defaults, axis: value})
                for axis, values in self.axes.items() for value in values]

    def as_dict(self):
        params = dataclasses.asdict(self)
        for key in ("pgd_budgets", "noise_rates", "metrics", "unforeseen", "top_percents",
                    "extra_sheets"):
            params[key] = list(params[key])
        return params

    def training_hash(self):
        skip = (*RUN_ONLY, "defaults", "axes")
        return config_hash({k: v for k, v in self.as_dict().items() if k not in skip})


def check_configuration(config):
    if config["optimizer"] not in OPTIMIZERS:
        raise UserError(f"unknown optimizer '{config['optimizer']}'; choose "
                        f"{', '.join(OPTIMIZERS)}")
    if config["architecture"] not in ARCHITECTURES:
        raise UserError(f"unknown architecture '{config['architecture']}'; choose "
                        f"{', '.join(ARCHITECTURES)}")
    from image_experiments.augment import KINDS

    if config["augmentation"] not in KINDS:
        raise UserError(f"unknown augmentation '{config['augmentation']}'; choose "
                        f"{', '.join(KINDS)}")
    if not float(config["lr"]) > 0 or int(config["batch"]) < 1:
        raise UserError(f"learning rate must be > 0 and batch >= 1 (got {config})")


def is_study(name):
    """Whether ``name`` (a preset or a YAML file) is a Ganesh study rather than an
    ``imgctl sweep`` of Heljakka's regimes."""
    path = study_path(name)
    if path is None:
        return False
    try:
        return (yaml.safe_load(path.read_text()) or {}).get("study") == "ganesh"
    except (OSError, yaml.YAMLError, AttributeError):
        return False


def study_path(name):
    path = Path(name)
    if path.suffix in (".yaml", ".yml"):
        return path if path.exists() else None
    path = CONFIG_DIR / f"img_{name}.yaml"
    return path if name in STUDIES and path.exists() else None


SCALES = ("smoke", "cpu")  # the blocks a study config may hold besides its own scale


def load_study(name, overrides=None, smoke=False, scale=None):
    """The :class:`Study` of preset or file ``name``, its 'smoke' block applied when
    ``smoke`` (or its block ``scale``: 'smoke' or 'cpu'), then ``overrides`` (None values
    ignored)."""
    scale = "smoke" if smoke and scale is None else scale
    if scale is not None and scale not in SCALES:
        raise UserError(f"unknown --scale '{scale}'; choose {', '.join(SCALES)}")
    path = study_path(name)
    if path is None:
        raise UserError(f"unknown study '{name}'; choose {', '.join(STUDIES)} or a YAML file")
    config = read_yaml(path, "configs/img_cifar10_skewed.yaml")
    config.pop("study", None)
    blocks = {name: config.pop(name, None) or {} for name in SCALES}
    if scale is not None and not blocks[scale]:
        raise UserError(f"study config {path} has no '{scale}' block")
    fields = {f.name for f in dataclasses.fields(Study)}
    check_known(config, fields, str(path), (config, ()))
    for block, values in blocks.items():
        check_known(values, fields, f"{path}'s {block} block", (config, (block,)))
    params = layered(dict(config), blocks[scale] if scale else None, overrides)
    params.setdefault("name", f"img-{path.stem.removeprefix('img_')}")
    for key in ("pgd_budgets", "noise_rates", "top_percents"):
        if key in params:
            params[key] = tuple(float(v) for v in params[key])
    for key in ("metrics", "unforeseen", "extra_sheets"):
        if key in params:
            params[key] = tuple(str(v) for v in params[key])
    try:
        return Study(**params)
    except TypeError as error:
        raise UserError(f"study config {path}: {error}") from None


def config_label(config, defaults):
    """A short file-name label of a configuration: 'default' or '<axis>=<value>'."""
    changed = [f"{a}={config[a]}" for a in AXES if config[a] != defaults[a]]
    return "default" if not changed else "_".join(changed)


def effective_lr(study, config):
    """The learning rate a configuration trains with: its own, except that Adam with the
    default learning rate uses ``adam_lr`` (SGD's 0.1 is no learning rate for Adam;
    Ganesh does not give Adam's)."""
    if config["optimizer"] == "adam" and float(config["lr"]) == float(study.defaults["lr"]):
        return float(study.adam_lr)
    return float(config["lr"])


@dataclasses.dataclass(frozen=True)
class StudyUnit:
    """Seed ``seed`` of configuration ``config``: trains one model and stores it."""

    study: Study
    config: dict
    seed: int
    path: Path
    data_dir: str | None = None

    def done(self):
        return self.path.exists()


def unit_hash(study, config, seed):
    return config_hash({"training": study.training_hash(),
                  "config": {a: config[a] for a in AXES}, "seed": seed})


def study_units(study, out, data_dir=None):
    return [StudyUnit(study, config, k, Path(out) / "units" /
                      f"{config_label(config, study.defaults)}-s{k}-"
                      f"{unit_hash(study, config, k)}.npz", data_dir)
            for config in study.configurations() for k in range(study.seeds)]


class Workers:
    """Compiled pieces reused across units (a traced training step costs seconds): one
    model per architecture whose weights each unit overwrites with its own seeded
    initialisation, one optimizer per kind reset between units, one augmenter per kind,
    one PGD attacker per model."""

    def __init__(self, shape, classes, width, randaugment_factor=0.3):
        self.shape, self.classes, self.width = tuple(shape), classes, width
        self.randaugment_factor = randaugment_factor
        self.models, self.steps, self.optimizers, self.augmenters = {}, {}, {}, {}
        self.attackers, self.forwards = {}, {}

    def forward(self, architecture):
        """The compiled inference pass of the architecture's model: logits of x."""
        import tensorflow as tf

        if architecture not in self.forwards:
            model = self.model(architecture)
            self.forwards[architecture] = tf.function(
                lambda x: model(x, training=False),
                input_signature=[tf.TensorSpec([None, *self.shape], tf.float32)])
        return self.forwards[architecture]

    def model(self, architecture):
        from image_experiments.resnet import build_resnet

        if architecture not in self.models:
            self.models[architecture] = build_resnet(self.shape, self.classes,
                                                     np.random.default_rng(0), architecture,
                                                     self.width)
        return self.models[architecture]

    def optimizer(self, architecture, kind, momentum):
        import keras

        key = (architecture, kind)
        if key not in self.optimizers:
            optimizer = (keras.optimizers.SGD(0.1, momentum=momentum) if kind == "sgd"
                         else keras.optimizers.Adam(1e-3))
            optimizer.build(self.model(architecture).trainable_variables)
            self.optimizers[key] = optimizer
        return self.optimizers[key]

    def step(self, architecture, kind, momentum):
        import tensorflow as tf

        key = (architecture, kind)
        if key not in self.steps:
            model = self.model(architecture)
            optimizer = self.optimizer(architecture, kind, momentum)

            @tf.function(input_signature=[tf.TensorSpec([None, *self.shape], tf.float32),
                                          tf.TensorSpec([None], tf.int32)])
            def step(x, y):
                with tf.GradientTape() as tape:
                    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
                        labels=y, logits=model(x, training=True)))
                variables = model.trainable_variables
                optimizer.apply(tape.gradient(loss, variables), variables)
                return loss

            self.steps[key] = step
        return self.steps[key]

    def augmenter(self, kind):
        from image_experiments.augment import Augmenter

        if kind not in self.augmenters:
            self.augmenters[kind] = Augmenter(kind, self.shape, self.randaugment_factor)
        return self.augmenters[kind]

    def attacker(self, architecture):
        from image_experiments.attacks import PGD

        forward = self.forward(architecture)

        class CompiledPGD(PGD):
            def predict(self, x):  # PGD's own predict runs the model eagerly: slow
                return np.argmax(np.concatenate([forward(x[i:i + self.batch]).numpy()
                                                 for i in range(0, len(x), self.batch)]), -1)

        if architecture not in self.attackers:
            self.attackers[architecture] = CompiledPGD(self.model(architecture))
        return self.attackers[architecture]


def reset_optimizer(optimizer, lr):
    """A built Keras optimizer as new: every slot and the step counter zero, then ``lr``."""
    for variable in optimizer.variables:
        variable.assign(np.zeros(variable.shape, variable.dtype))
    optimizer.learning_rate = lr


def initial_weights(study, config, seed, shape, classes):
    """The seeded initial weights of a unit's model (a fresh model's Keras weights)."""
    from image_experiments.resnet import build_resnet

    rng = rng_for(study.seed, Role.STUDY_INIT, seed)
    return build_resnet(shape, classes, rng, config["architecture"], study.width).get_weights()


def predict_logp(forward, x, batch):
    """Log class probabilities float64 [n, C] of the compiled ``forward`` on x."""
    from scipy.special import log_softmax

    logits = [forward(x[i:i + batch]).numpy() for i in range(0, len(x), batch)]
    return log_softmax(np.concatenate(logits), axis=-1)


def train_unit(unit, data, workers, progress=None):
    """Train and evaluate one unit's model; write its npz (see the module docs)."""
    import tensorflow as tf

    from image_experiments import interventions
    from image_experiments.attacks import attack_subset

    study, config = unit.study, unit.config
    model = workers.model(config["architecture"])
    forward = workers.forward(config["architecture"])
    model.set_weights(initial_weights(study, config, unit.seed, workers.shape,
                                      workers.classes))
    optimizer = workers.optimizer(config["architecture"], config["optimizer"],
                                  study.sgd_momentum)
    lr = effective_lr(study, config)
    reset_optimizer(optimizer, lr)
    step = workers.step(config["architecture"], config["optimizer"], study.sgd_momentum)
    augmenter = workers.augmenter(config["augmentation"])
    augmenter.reseed(int(rng_for(study.seed, Role.STUDY_AUGMENT, unit.seed).integers(2**31 - 1)))
    n, batch = len(data.y_train), int(config["batch"])
    started, history = time.perf_counter(), []
    steps_per_epoch = max(1, int(np.ceil(n / batch)))
    with progress_bar(study.epochs * steps_per_epoch, "steps", progress,
                      unit.path.stem.rsplit("-", 1)[0]) as bar:
        for epoch in range(study.epochs):
            order = rng_for(study.seed, Role.STUDY_ORDER, unit.seed, epoch).permutation(n)
            losses = []
            for start in range(0, n, batch):
                index = order[start:start + batch]
                x = augmenter(data.x_train[index])
                losses.append(float(step(tf.constant(x), tf.constant(data.y_train[index],
                                                                     tf.int32))))
                bar.update(1)
            accuracy = float((predict_logp(forward, data.x_test, study.eval_batch).argmax(-1)
                              == data.y_test).mean())
            history.append((float(np.mean(losses)), accuracy))
            bar.set_postfix(loss=f"{history[-1][0]:.3f}", accuracy=f"{accuracy:.3f}")
    seconds = time.perf_counter() - started
    sets = {"test": data.x_test, **data.ood,
            f"input_noise_{study.input_noise_rate:g}":
                interventions.input_noise(data.x_test, study.input_noise_rate, study.seed)}
    logp = {name: predict_logp(forward, x, study.eval_batch) for name, x in sets.items()}
    subset = attack_subset(len(data.y_test), study.pgd_points, study.seed)
    attacker = workers.attacker(config["architecture"])
    pgd = [attacker.accuracy(data.x_test[subset], data.y_test[subset], budget,
                             study.pgd_steps) for budget in study.pgd_budgets]
    meta = {"study": "ganesh", "dataset": study.dataset, "config": config,
            "label": config_label(config, study.defaults), "seed": unit.seed,
            "experiment_seed": study.seed, "lr_used": lr, "epochs": study.epochs,
            "checkpoint": study.checkpoint, "width": study.width,
            "train_images": n, "test_images": len(data.y_test),
            "pgd_budgets": list(study.pgd_budgets), "pgd_steps": study.pgd_steps,
            "pgd_points": len(subset), "input_noise_rate": study.input_noise_rate,
            "train_seconds": seconds, "eval_seconds": time.perf_counter() - started - seconds,
            "unit_hash": unit_hash(study, config, unit.seed),
            "training_hash": study.training_hash(), "irrepro_version": __version__,
            "tensorflow_version": tf.__version__, "git_commit": git_commit()}
    arrays = {"meta": np.array(json.dumps(meta, sort_keys=True)),
              "history": np.asarray(history, np.float32),
              "labels": np.asarray(data.y_test, np.int16),
              "pgd": np.asarray(pgd, np.float64)}
    arrays.update({f"group.{name}": np.asarray(mask, bool)
                   for name, mask in data.groups.items()})
    arrays.update({f"logp.{name}": value.astype(np.float16) for name, value in logp.items()})

    def save(tmp):
        with open(tmp, "wb") as stream:
            np.savez_compressed(stream, **arrays)

    write_atomic(unit.path, save)


def read_study_unit(path):
    """(meta, arrays) of a stored unit: arrays {name: array} of its members but meta."""
    with np.load(path, allow_pickle=False) as stored:
        meta = json.loads(str(stored["meta"]))
        return meta, {name: stored[name] for name in stored.files if name != "meta"}


def load_data(study, data_dir):
    from image_experiments.skewed import load_skewed

    return load_skewed(data_dir, study.seed, study.train_subset, study.test_subset)


def run_study(study, out, data_dir=None, progress=None):
    """Train every unit of ``study`` not yet stored under ``out``; write OUT/study.json.
    Returns (units run, units in all, seconds)."""
    from image_experiments.training import setup_device

    out = Path(out)
    check_writable(out / "units" / "probe.npz")
    units = study_units(study, out, data_dir)
    todo = [u for u in units if not u.done()]
    started = time.perf_counter()
    data = None
    if todo:  # the data first: a missing file is an error before anything is written
        setup_device()
        data = load_data(study, data_dir)
    write_atomic(out / "study.json", lambda tmp: Path(tmp).write_text(
        json.dumps({**study.as_dict(), "rows": [[a, v] for a, v, _ in study.rows()],
                    "training_hash": study.training_hash()}, indent=1, default=str)))
    if todo:
        workers = Workers(data.x_train.shape[1:], len(data.class_names), study.width,
                          study.randaugment_factor)
        with progress_bar(len(todo), "units", progress, "models") as bar:
            for unit in todo:
                train_unit(unit, data, workers, progress)
                bar.update(1)
    return len(todo), len(units), time.perf_counter() - started


#: Flags of ``imgctl sweep`` a study takes (it varies its config's axes instead of regimes).
STUDY_FLAGS = ("variants", "epochs_max", "train_subset", "test_subset", "seed", "checkpoint")


def study_command(name, flags, sets=(), smoke=False, scale=None, out=None, data_dir=None,
                  scheduler=None, workers=None, progress=None, echo=print):
    """``imgctl sweep`` of a Ganesh study: its config's axes, ``flags`` of :data:`STUDY_FLAGS`
    (--variants is its seeds per value), trained one model after another; says what ran."""
    given = {**flags, "scheduler": scheduler, "workers": workers}
    foreign = [f"--{key.replace('_', '-')}" for key, value in given.items()
               if value is not None and key not in STUDY_FLAGS]
    if foreign or sets:
        raise UserError(f"{', '.join(foreign) or '--set'} do(es) not apply to the study {name}; "
                        "it varies its config's axes (see configs/img_cifar10_skewed.yaml)")
    epochs = flags.get("epochs_max")
    if epochs is not None and epochs != int(epochs):
        raise UserError(f"--epochs-max {epochs:g}: the study trains whole epochs")
    if smoke and scale not in (None, "smoke"):
        raise UserError(f"--smoke and --scale {scale} ask for two scales; give one")
    overrides = {"seeds": flags.get("variants"),
                 "epochs": None if epochs is None else int(epochs),
                 "train_subset": flags.get("train_subset"),
                 "test_subset": flags.get("test_subset"), "seed": flags.get("seed"),
                 "checkpoint": flags.get("checkpoint")}
    study = load_study(name, overrides, smoke=smoke, scale=scale)
    out = Path(out) if out else Path("results") / study.name
    ran, total, seconds = run_study(study, out, data_dir, progress)
    echo(f"trained {ran} of {total} models ({total - ran} already done) in {seconds:.0f} s: "
         f"{len(study.configurations())} configurations x {study.seeds} seeds; "
         f"`imgctl report {out}` draws the sheets")
    return ran
