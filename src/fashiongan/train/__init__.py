"""The one training engine: ``fit(load_config(...), out)`` trains any registered model."""

from fashiongan.train.config import TrainConfig, load_config
from fashiongan.train.engine import FitResult, TrainingDiverged, fit

__all__ = ["FitResult", "TrainConfig", "TrainingDiverged", "fit", "load_config"]
