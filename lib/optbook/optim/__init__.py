"""Hand-designed and physics-inspired optimizers, each a real ``torch.optim.Optimizer``."""

from .hypergradient import AdamHD, LRTransition, SGDHD
from .langevin import BAOAB, SGLD, AdaptiveLangevin, OverdampedLangevin, PartitionedLangevin
from .partitioned import LOL, AdLaLa, LaLa, layer_partition

__all__ = [
    "SGDHD",
    "AdamHD",
    "LRTransition",
    "PartitionedLangevin",
    "SGLD",
    "OverdampedLangevin",
    "BAOAB",
    "AdaptiveLangevin",
    "AdLaLa",
    "LOL",
    "LaLa",
    "layer_partition",
]
