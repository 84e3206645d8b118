"""What ``imgctl report`` computes: its options, checked at once (before any unit is read)."""
import dataclasses
import math
import re
from pathlib import Path

from irrepro.errors import UserError

METRIC_PATTERN = re.compile(r"^(accuracy|worst_class|class_\d+|ood_.+|noise(_[0-9.e+-]+)?"
                            r"|pgd(_[0-9.e+-]+)?|input_noise_[0-9.e+-]+)$")
#: Hypothesis 1's subset s: one per data set (Fig. 3's caption) or one per strategy.
SUBSET_PER = ("dataset", "strategy")
#: Ganesh's unforeseen privacy: lambda * Exp(1) added to the pixels, lambda = 1 (his sec. 4).
INPUT_NOISE_RATE = 1.0


@dataclasses.dataclass(frozen=True)
class ReportOptions:
    """What ``imgctl report`` computes (see its --help): the checkpoint kind, the metrics
    of the multiplicity sheets and of model selection (names of sheets' interventions;
    'noise' and 'pgd' stand for the first rate and budget), the noise rates, the PGD
    budgets, points and steps, the top-k% levels, Hypothesis 1's subset size, the strategy
    of the confabulation figure ('lr=1e-3', '64', or None: all) and the data folder."""

    checkpoint: str = "target"
    metrics: tuple = ("accuracy", "worst_class", "ood_xflip", "noise", "pgd")
    select: tuple = ("worst_class", "ood_xflip", "noise", "pgd")
    noise_rates: tuple = (5.0, 2.0)
    pgd_budgets: tuple = (0.005, 0.01)  # Ganesh's selection and unforeseen budgets
    pgd_points: int = 256
    pgd_steps: int = 10
    top_percents: tuple = (75.0, 50.0)
    subset_size: int = 1000
    subset_per: str = "dataset"
    strategy: str | None = None
    data_dir: str | None = None

    def __post_init__(self):
        for name in (*self.metrics, *self.select):
            if not METRIC_PATTERN.match(name):
                raise UserError(f"unknown metric '{name}'; give accuracy, worst_class, "
                                "class_<c>, ood_<set>, noise[_<rate>], pgd[_<budget>] or "
                                "input_noise_1")
        if not self.noise_rates or min(self.noise_rates) <= 0:
            raise UserError("--noise-rate takes positive rates, e.g. 5,2")
        if not self.pgd_budgets or min(self.pgd_budgets) < 0:
            raise UserError("--pgd-budget takes budgets >= 0, e.g. 0.005,0.01")
        if not self.top_percents or not all(0 < p <= 100 for p in self.top_percents):
            raise UserError("--top-percent takes percentages in (0, 100], e.g. 75,50")
        if self.subset_per not in SUBSET_PER:
            raise UserError(f"unknown --subset-per '{self.subset_per}'; choose "
                            f"{' or '.join(SUBSET_PER)}")
        parse_strategy(self.strategy)  # a UserError now rather than after the work

    def resolve(self, name):
        """The intervention a metric name stands for ('noise' -> 'noise_5', ...)."""
        from image_experiments import sheets

        if name == "noise":
            return sheets.intervention_name("noise", self.noise_rates[0])
        if name == "pgd":
            return sheets.intervention_name("pgd", self.pgd_budgets[0])
        return name


DEFAULTS = {f.name: f.default for f in dataclasses.fields(ReportOptions)}


def default_out(results_dir, checkpoint):
    """RESULTS_DIR/report for the target or final checkpoint (a sweep stores one of them),
    RESULTS_DIR/report-<kind> otherwise."""
    return Path(results_dir) / ("report" if checkpoint in ("target", "final")
                                else f"report-{checkpoint}")


def parse_strategy(text):
    """--strategy 'lr=1e-3', 'batch=64' or a bare value: (regime or None, value); None for
    None."""
    if text is None:
        return None
    regime, _, value = text.rpartition("=")
    try:
        return (regime or None, float(value))
    except ValueError:
        raise UserError(f"--strategy '{text}' is not a strategy; e.g. lr=1e-3, batch=64 or "
                        "1e-3") from None


def matches(chosen, key):
    """Whether the unit ``key`` is the strategy ``chosen`` (a :func:`parse_strategy`
    result; None matches every unit)."""
    if chosen is None:
        return True
    regime, value = chosen
    return regime in (None, key["regime"]) and math.isclose(value, key["strategy"],
                                                            rel_tol=1e-5, abs_tol=1e-8)
