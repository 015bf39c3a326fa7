"""The CIFAR arm's objectives: labels, and Hinton's KD (both from multiview.losses).

Every objective has the signature objective(logits, labels, teacher_logits) -> scalar, so the
one training engine (train.py) serves single models, KD students and self-distillation.
"""

from __future__ import annotations

from dataclasses import dataclass

from multiview.losses import cross_entropy, hinton_kd


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
        return hinton_kd(logits, teacher_logits, labels, self.temperature, self.alpha)
