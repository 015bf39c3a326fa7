"""CIFAR evidence (docs/cifar.md): WRN / fast nets in Flax, CIFAR archives, and the
single / ensemble / KD / self-distill / sum-trained pipeline behind `multiview cifar`."""
