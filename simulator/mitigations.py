"""Mitigations of irreproducibility as settings: what each one trains and deploys.

Every member of a pair is the deployed model of its own mitigation run, so PD is measured
between two independent deployments. A member's run trains a *group* of G stacked models
(components) on the member's batches; all groups of all members of all pairs are just more
models of the engine's stack, in the order (pair k, member m, component e), so the model
index is ``(2k + m) * G + e``. The losses that couple the models of a group are in
:mod:`simulator.mitigation_losses`; the run in :mod:`simulator.mitigation_run`.

- ``ensemble`` (Dietterich, 2000; Lakshminarayanan et al., 2017): E independent components,
  the member deploys the average of their probabilities. ``equal_flops`` narrows every
  component so that the E together have about the parameters (and FLOPs) of one model.
- ``codistill`` (Anil et al., 2018): E components trained together, each with the loss
  BCE(y, z_i) + w T^2 BCE(q_-i, z_i / T), q_-i the mean of the other components'
  probabilities sigmoid(z_j / T), held constant; component 0 is deployed.
- ``antidistill`` (Shamir & Coviello, 2020): E components whose outputs are decorrelated
  over each mini-batch: loss sum_i BCE(y, z_i) + w mean_{i<j} rho_ij^2, rho_ij the Pearson
  correlation over the batch of the probabilities of components i and j (its denominator
  var_i var_j regularised by 1e-4); the ensemble average is deployed.
- ``distill`` (Hinton et al., 2015): a teacher of E components (an ensemble when E > 1) is
  trained first on the member's stream, then a student on the same stream with the loss
  (1 - w) BCE(y, z_s) + w T^2 BCE(q, z_s / T), q the teacher's mean probability
  sigmoid(z_t / T); the student is deployed.

This module is NumPy only (validation, layout, initialisation, deployment, compute), so a
setting is checked without TensorFlow.
"""
import dataclasses

import numpy as np

from irrepro.errors import UserError
from irrepro.streams import Role, rng_for
from simulator.models import MLP, Wide, parse_model

MITIGATIONS = ("none", "ensemble", "codistill", "antidistill", "distill")
#: The fewest components (--members) each mitigation needs.
MIN_MEMBERS = {"none": 1, "ensemble": 1, "codistill": 2, "antidistill": 2, "distill": 1}
#: The parameters each mitigation uses; only these enter its setting's hash and CSV.
PARAMETERS = {
    "none": (),
    "ensemble": ("members", "equal_flops"),
    "codistill": ("members", "mitigation_weight", "temperature"),
    "antidistill": ("members", "mitigation_weight", "equal_flops"),
    "distill": ("members", "mitigation_weight", "temperature"),
}
FIELDS = ("mitigation", "members", "mitigation_weight", "temperature", "equal_flops")


def check(setting):
    """Raise UserError for a mitigation setting that cannot run (one line, with the fix)."""
    name = setting.mitigation
    if name not in MITIGATIONS:
        raise UserError(f"unknown mitigation '{name}'; choose one of {', '.join(MITIGATIONS)}")
    if not setting.temperature > 0:
        raise UserError(f"--temperature must be > 0 (got {setting.temperature:g}); "
                        "try --temperature 1")
    if not setting.mitigation_weight >= 0:
        raise UserError(f"--mitigation-weight must be >= 0 (got {setting.mitigation_weight:g})"
                        "; try --mitigation-weight 0.5")
    if name == "none":
        if setting.members != 1:
            raise UserError(f"--members {setting.members} needs a --mitigation (ensemble, "
                            "codistill, antidistill or distill)")
        return
    need = MIN_MEMBERS[name]
    if setting.members < need:
        raise UserError(f"--mitigation {name} needs --members >= {need} (got "
                        f"{setting.members}); try --members {max(need, 2)}")
    if name == "distill" and setting.mitigation_weight > 1:
        raise UserError(f"--mitigation-weight of distill is the share of the teacher's loss, "
                        f"in [0, 1] (got {setting.mitigation_weight:g}); try 0.5")
    if setting.equal_flops and "equal_flops" not in PARAMETERS[name]:
        raise UserError(f"--equal-flops applies to ensemble and antidistill, not {name}")
    if setting.init == "warm":
        raise UserError(f"--init warm with --mitigation {name} is not supported; use "
                        "--init same or --init diff")


def hash_params(setting):
    """The mitigation parameters that define ``setting``: {} without a mitigation (so the
    hashes of plain settings are those they had before mitigations existed)."""
    if setting.mitigation == "none":
        return {}
    return {"mitigation": setting.mitigation,
            **{k: getattr(setting, k) for k in PARAMETERS[setting.mitigation]}}


@dataclasses.dataclass(frozen=True)
class Layout:
    """How a member's run is stacked: ``group`` models per member (G), of which
    ``teachers`` (distill) are trained first and frozen; ``deployed`` is the index within a
    group of the deployed model, or None when the group's average probability is deployed."""

    group: int
    teachers: int
    deployed: int | None


def layout(setting):
    name, e = setting.mitigation, setting.members
    if name in ("none", "ensemble", "antidistill"):
        return Layout(group=1 if name == "none" else e, teachers=0,
                      deployed=0 if name == "none" or e == 1 else None)
    if name == "codistill":
        return Layout(group=e, teachers=0, deployed=0)
    return Layout(group=e + 1, teachers=e, deployed=e)  # distill: E teachers, then a student


def component_family(setting):
    """The model family of each component: the setting's, or with ``equal_flops`` the same
    family narrowed so that E components have about the parameters of one model."""
    family = parse_model(setting.model)
    if not (setting.equal_flops and setting.members > 1):
        return family
    return narrower(family, setting.members)


def n_parameters(family):
    return sum(int(np.prod(s)) for s in family.shapes)


def narrower(family, e):
    """``family`` with its hidden widths scaled by one factor so that its parameter count is
    closest to 1/e of the original (widths at least 1)."""
    target = n_parameters(family) / e
    if isinstance(family, Wide):
        candidates = [Wide(units=u) for u in range(1, family.units + 1)]
    elif family.widths:
        candidates = [MLP(max(1, round(w * c)) for w in family.widths)
                      for c in np.linspace(0.01, 1.0, 991)]
    else:
        raise UserError("--equal-flops needs hidden units to narrow; the linear model has "
                        "none")
    return min(candidates, key=lambda f: abs(n_parameters(f) - target))


def init_key(pair, member, component, same_init):
    """The key of a component's initialisation stream under Role.INIT: component 0 of a
    member uses the plain key (pair, member), so a one-component run starts as the plain
    setting; with ``same_init`` both members share member 0's keys."""
    m = 0 if same_init else member
    return (pair, m) if component == 0 else (pair, m, component)


def initial_weights(setting, family):
    """Stacked initial weights [2M * G, ...] in (pair, member, component) order."""
    g = layout(setting).group
    same = setting.init == "same"
    models = [family.init(rng_for(setting.seed, Role.INIT, *init_key(k, m, e, same)))
              for k in range(setting.pairs) for m in (0, 1) for e in range(g)]
    return [np.stack(w) for w in zip(*models)]


def deploy(logits, setting):
    """The deployed members' logits float64 [2M, U] from the stacked models' logits
    [2M * G, U]: the deployed component's, or the log-odds of the group's mean probability."""
    spec = layout(setting)
    if spec.group == 1:
        return logits
    grouped = np.asarray(logits).reshape(-1, spec.group, logits.shape[-1])
    if spec.deployed is not None:
        return grouped[:, spec.deployed]
    z = grouped.astype(np.float64)
    from scipy.special import log_expit, logsumexp  # SciPy's special functions load slowly

    return logsumexp(log_expit(z), axis=1) - logsumexp(log_expit(-z), axis=1)


def deployed_rows(setting):
    """Indices [2M] of the deployed models in the stack, or None for an average."""
    spec = layout(setting)
    if spec.deployed is None:
        return None
    return np.arange(2 * setting.pairs) * spec.group + spec.deployed


def model_examples(setting, examples_seen):
    """Compute spent on one deployed member after its run has seen ``examples_seen``
    examples, in model-examples of the setting's own model: components x examples x (the
    component's parameters / the model's), plus the teacher's full run for distill and the
    warm model's examples for a warm start."""
    spec = layout(setting)
    ratio = n_parameters(component_family(setting)) / n_parameters(parse_model(setting.model))
    if setting.mitigation == "distill":
        return spec.teachers * setting.examples * ratio + examples_seen * ratio
    warm = setting.warm_examples if setting.init == "warm" else 0
    return spec.group * examples_seen * ratio + warm
