"""multiview: the multi-view data theory of ensembles, distillation and self-distillation.

Allen-Zhu & Li, "Towards Understanding Ensemble, Knowledge Distillation and Self-Distillation
in Deep Learning" (arXiv 2012.09816, ICLR 2023), made runnable.
"""

__version__ = "0.1.0"
