"""Training objectives: cross-entropy on labels, and Hinton's knowledge distillation.

Every objective has the signature objective(logits, labels, teacher_logits) -> scalar, so the
one training engine (train.py) serves single models, KD students and self-distillation.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp


def cross_entropy(logits, labels):
    """Mean over the batch of -log softmax(logits)[label]."""
    logp = jax.nn.log_softmax(logits, axis=-1)
    return -jnp.take_along_axis(logp, labels[:, None], axis=-1).mean()


def kl_divergence(teacher_logits, logits, temperature):
    """KL(softmax(t / T) || softmax(s / T)): summed over classes, mean over the batch."""
    log_p = jax.nn.log_softmax(teacher_logits / temperature, axis=-1)
    log_q = jax.nn.log_softmax(logits / temperature, axis=-1)
    return (jnp.exp(log_p) * (log_p - log_q)).sum(axis=-1).mean()


def label_objective(logits, labels, teacher_logits=None):
    """Plain training on labels (the teacher, if any, is ignored)."""
    return cross_entropy(logits, labels)


@dataclass(frozen=True)
class HintonKD:
    """alpha * T^2 * KL(softmax(t/T) || softmax(s/T)) + (1 - alpha) * CE(s, y) (Hinton 2015).

    The T^2 factor keeps the soft term's gradient scale independent of T.
    """

    temperature: float = 4.0
    alpha: float = 0.9

    def __call__(self, logits, labels, teacher_logits):
        soft = kl_divergence(teacher_logits, logits, self.temperature) * self.temperature**2
        return self.alpha * soft + (1.0 - self.alpha) * cross_entropy(logits, labels)
