"""Run one mitigation setting on the stacked engine: every component of every member of
every pair is one more stacked model; groups of G share their member's batches, a coupling
loss trains them, and the deployed members are evaluated (see :mod:`simulator.mitigations`).
"""
import numpy as np

from irrepro.keras_activations import get_activation
from irrepro.progress import progress_bar
from simulator import mitigations
from simulator.cost import check_memory
from simulator.data import DATA_MODELS, PairedBatches, evaluation_set
from simulator.engine import RunOutput, StackedTrainer, evaluate, make_optimizer
from simulator.mitigation_losses import training_loss


def train_teachers(setting, family, activation, data_model, weights, spec):
    """Distill's first phase: the E teachers of every member [2M * E] train on the member's
    batches with the plain loss; their trained weights replace theirs in ``weights``
    (stacked [2M * G, ...], changed in place)."""
    rows = np.flatnonzero(np.arange(len(weights[0])) % spec.group < spec.teachers)
    members = 2 * setting.pairs
    trainer = StackedTrainer(family, activation, [w[rows] for w in weights],
                             make_optimizer(setting.optimizer, setting.lr), setting.batch)
    feed = PairedBatches(data_model, setting.seed, setting.pairs, setting.window,
                         setting.batch, setting.examples)
    trainer.train_from(feed, setting.steps, rows=np.repeat(np.arange(members), spec.teachers))
    for w, trained in zip(weights, trainer.get_weights()):
        w[rows] = trained


def run_mitigation(setting, progress=False):
    """Train the 2M * G models of a mitigation ``setting`` and evaluate the 2M deployed
    members at its checkpoints (for distill: the students, after their teachers trained)."""
    spec = mitigations.layout(setting)
    family = mitigations.component_family(setting)
    check_memory(setting, family)
    data_model = DATA_MODELS[setting.data](setting.seed)
    activation = get_activation(setting.activation, setting.beta)
    weights = mitigations.initial_weights(setting, family)
    if spec.teachers:
        train_teachers(setting, family, activation, data_model, weights, spec)
    members = 2 * setting.pairs
    trainer = StackedTrainer(family, activation, weights,
                             make_optimizer(setting.optimizer, setting.lr), setting.batch,
                             loss=training_loss(setting))
    batches = PairedBatches(data_model, setting.seed, setting.pairs, setting.window,
                            setting.batch, setting.examples)
    rows = np.repeat(np.arange(members), spec.group)  # a group shares its member's batches
    eval_packed = evaluation_set(data_model, setting.seed, setting.eval_examples)
    deployed = mitigations.deployed_rows(setting)
    metrics, done = [], 0
    with progress_bar(setting.steps, "steps", enabled=progress) as bar:
        for stop in setting.checkpoint_steps():
            trainer.train_from(batches, stop - done, bar.update, rows=rows)
            done = stop
            metrics += evaluate(trainer, data_model, eval_packed, done * setting.batch, family,
                                deploy=lambda z: mitigations.deploy(z, setting),
                                deployed_rows=deployed)
    return RunOutput(metrics, trainer.get_weights(), data_model.params)
