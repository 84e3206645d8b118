"""One simulator setting: its parameters, their parsing and validation, and its hash."""
import dataclasses

from irrepro.activations import ACTIVATIONS, PARAMETRIC, check_beta
from irrepro.config import parse_count
from irrepro.errors import UserError
from irrepro.tables import config_hash
from simulator import mitigations
from simulator.data import DATA_MODELS
from simulator.models import parse_model

OPTIMIZERS = ("adagrad", "sgd")
INITS = ("same", "diff", "warm")
#: How warm starts are made, part of the hash of init='warm' settings only: 'per-pair' = one
#: warm model per pair, from that pair's initialisation and its own warm stream (issue 18).
#: The earlier scheme (one warm model, from pair 0's initialisation, for every pair) had no
#: such key, so its shards are never mistaken for the new ones.
WARM_START_VERSION = "per-pair"


@dataclasses.dataclass(frozen=True)
class Setting:
    """Everything that defines one simulator experiment (2 * pairs models).

    window: shuffling window z in mini-batches; examples: T per model, one pass;
    checkpoints: number of evaluations during training (log-spaced, the last at T).
    init: 'same' (both members of a pair start equal), 'diff' (each model its own draw) or
    'warm' (warm start: one model per pair is first trained on warm_examples examples of
    its own stream at warm_lr, from the pair's initialisation; both members of the pair
    start from its weights).
    mitigation: 'none' or a remedy whose deployed model each member is (ensemble,
    codistill, antidistill, distill; see :mod:`simulator.mitigations`), with ``members``
    components E, ``mitigation_weight`` w, ``temperature`` T and ``equal_flops``.
    """

    data: str = "linear"
    model: str = "tower"
    activation: str = "relu"
    beta: float = 1.0
    init: str = "same"
    window: int = 1
    optimizer: str = "adagrad"
    lr: float = 0.1
    pairs: int = 16
    examples: int = 2 ** 20
    batch: int = 32
    eval_examples: int = 2 ** 16
    checkpoints: int = 6
    seed: int = 0
    warm_examples: int = 2 ** 20
    warm_lr: float = 0.1
    mitigation: str = "none"
    members: int = 1
    mitigation_weight: float = 0.5
    temperature: float = 1.0
    equal_flops: bool = False

    def __post_init__(self):
        # Normalise, so that equal experiments hash equally whatever spelling was used.
        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731
        set_("model", parse_model(self.model).name)
        set_("activation", str(self.activation).lower())
        set_("data", str(self.data).lower())
        set_("optimizer", str(self.optimizer).lower())
        set_("init", str(self.init).lower())
        for name in ("window", "examples", "pairs", "batch", "eval_examples", "checkpoints",
                     "warm_examples"):
            set_(name, parse_count(getattr(self, name), "--" + name.replace("_", "-")))
        set_("beta", float(self.beta))
        set_("lr", float(self.lr))
        set_("warm_lr", float(self.warm_lr))
        set_("mitigation", str(self.mitigation).lower())
        set_("members", parse_count(self.members, "--members"))
        set_("mitigation_weight", float(self.mitigation_weight))
        set_("temperature", float(self.temperature))
        flag = self.equal_flops  # from YAML a bool; from --set or a CSV perhaps a string
        set_("equal_flops", flag.strip().lower() in ("true", "1", "yes")
             if isinstance(flag, str) else bool(flag))
        self.validate()

    def validate(self):
        choices = {"data": tuple(DATA_MODELS), "activation": ACTIVATIONS,
                   "optimizer": OPTIMIZERS, "init": INITS}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise UserError(f"unknown {name} '{getattr(self, name)}'; "
                                f"choose one of {', '.join(allowed)}")
        check_beta(self.beta)
        for flag, lr in (("--lr", self.lr), ("--warm-lr", self.warm_lr)):
            if not lr > 0:
                raise UserError(f"{flag} must be > 0 (got {lr:g}); try {flag} 0.1")
        for flag, count in (("--examples", self.examples), ("--warm-examples", self.warm_examples)):
            if count % self.batch:
                raise UserError(f"{flag} ({count}) must be a multiple of the "
                                f"mini-batch size {self.batch}; try {flag} 2^20")
        mitigations.check(self)
        if self.checkpoints > self.examples // self.batch:
            raise UserError(f"--checkpoints ({self.checkpoints}) exceeds the number of "
                            f"training steps ({self.examples // self.batch})")

    @property
    def steps(self):
        return self.examples // self.batch

    @property
    def beta_used(self):
        """beta where the activation has one, else None (recorded as empty in CSVs)."""
        return self.beta if self.activation in PARAMETRIC else None

    def as_dict(self):
        """The parameters; the warm-start ones only where init is 'warm', so that adding
        them left the hashes of every other setting unchanged."""
        params = dataclasses.asdict(self)
        for name in mitigations.FIELDS:  # only a mitigation's own parameters, where it has one
            del params[name]
        params.update(mitigations.hash_params(self))
        if self.init != "warm":
            del params["warm_examples"], params["warm_lr"]
        else:  # one warm model per pair since issue 18 (before: one for all pairs)
            params["warm_start"] = WARM_START_VERSION
        return params

    def config_hash(self):
        """A short, stable hash of the setting's parameters."""
        return config_hash(self.as_dict())

    def checkpoint_steps(self):
        """Training steps after which the models are evaluated: log-spaced, ending at T/s."""
        steps = {max(1, self.steps >> k) for k in range(self.checkpoints)}
        return sorted(steps)
