"""Image energy-based models: the baseline EBM, CLEL, and the FID classifier."""

from latentrepro.models.image.classifier import ImageClassifier
from latentrepro.models.image.clel import CLEL
from latentrepro.models.image.ebm import ImageEBM

__all__ = ["CLEL", "ImageClassifier", "ImageEBM"]
