"""The training losses of the mitigations over the engine's stacked logits (TensorFlow).

Each loss maps logits float32 [n, B] and labels float32 [n, B] (n = 2M * G stacked models in
(pair, member, component) order, see :mod:`simulator.mitigations`; the G models of a group
see the same batch) to one scalar whose gradient with respect to model i's weights is the
gradient of model i's own loss. Terms built from other models' predictions are held constant
(``stop_gradient``) except the anti-distillation penalty, which is shared by its group.
Formulas and citations: :mod:`simulator.mitigations`.
"""
from irrepro.tf import tf
from simulator.mitigations import layout

#: Added to var_i * var_j in rho_ij^2 = cov_ij^2 / (var_i var_j + eps): a batch on which a
#: component's output barely varies would otherwise give huge, chaotic gradients (with 1e-8
#: two trainings that agree to 2e-7 after one step drifted apart by 1e-5 in 60 steps).
CORRELATION_EPS = 1e-4


def _bce(labels, logits):
    return tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits)


def task_loss(logits, labels):
    """Sum over models of each one's mean cross-entropy: the plain engine's loss."""
    return tf.reduce_sum(tf.reduce_mean(_bce(labels, logits), axis=1))


def codistill_loss(g, weight, temperature):
    """BCE(y, z_i) + w T^2 BCE(q_-i, z_i / T) summed over models; q_-i the mean of
    sigmoid(z_j / T) over the other g - 1 models of i's group, constant."""
    def loss(logits, labels):
        z = tf.reshape(logits, [-1, g, tf.shape(logits)[-1]])
        p = tf.nn.sigmoid(z / temperature)
        others = tf.stop_gradient((tf.reduce_sum(p, axis=1, keepdims=True) - p) / (g - 1))
        soft = tf.reduce_mean(_bce(others, z / temperature), axis=-1)
        return task_loss(logits, labels) + weight * temperature ** 2 * tf.reduce_sum(soft)
    return loss


def correlation_penalty(p):
    """mean over pairs i < j of rho_ij^2, rho_ij the Pearson correlation over the batch of
    p[:, i] and p[:, j]; p [groups, g, B] -> [groups]."""
    d = p - tf.reduce_mean(p, axis=-1, keepdims=True)
    cov = tf.einsum("nib,njb->nij", d, d) / tf.cast(tf.shape(p)[-1], p.dtype)
    var = tf.linalg.diag_part(cov)
    rho2 = cov ** 2 / (var[:, :, None] * var[:, None, :] + CORRELATION_EPS)
    g = p.shape[1]
    upper = tf.constant([[1.0 if j > i else 0.0 for j in range(g)] for i in range(g)])
    return tf.reduce_sum(rho2 * upper, axis=[1, 2]) / (g * (g - 1) / 2)


def antidistill_loss(g, weight):
    """sum_i BCE(y, z_i) + w sum over groups of the correlation penalty of the group's
    probabilities."""
    def loss(logits, labels):
        p = tf.reshape(tf.nn.sigmoid(logits), [-1, g, tf.shape(logits)[-1]])
        return task_loss(logits, labels) + weight * tf.reduce_sum(correlation_penalty(p))
    return loss


def distill_loss(teachers, weight, temperature):
    """Groups of ``teachers`` frozen teachers and one student: (1 - w) BCE(y, z_s) +
    w T^2 BCE(q, z_s / T), q the mean of the teachers' sigmoid(z_t / T), constant; the
    teachers' rows get no gradient."""
    def loss(logits, labels):
        z = tf.reshape(logits, [-1, teachers + 1, tf.shape(logits)[-1]])
        y = tf.reshape(labels, [-1, teachers + 1, tf.shape(labels)[-1]])[:, -1]
        q = tf.stop_gradient(tf.reduce_mean(tf.nn.sigmoid(z[:, :-1] / temperature), axis=1))
        student = z[:, -1]
        hard = tf.reduce_mean(_bce(y, student), axis=-1)
        soft = tf.reduce_mean(_bce(q, student / temperature), axis=-1)
        return tf.reduce_sum((1 - weight) * hard + weight * temperature ** 2 * soft)
    return loss


def training_loss(setting):
    """The loss of ``setting``'s stacked models in the training phase that is measured
    (the student's for distill); None for the plain engine's loss."""
    spec, name = layout(setting), setting.mitigation
    if name in ("none", "ensemble"):
        return None
    if name == "codistill":
        return codistill_loss(spec.group, setting.mitigation_weight, setting.temperature)
    if name == "antidistill":
        return antidistill_loss(spec.group, setting.mitigation_weight)
    return distill_loss(spec.teachers, setting.mitigation_weight, setting.temperature)
