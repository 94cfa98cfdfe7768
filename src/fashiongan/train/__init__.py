"""The one training engine: ``fit(load_config(...), out)`` trains any registered model; ``Trainer`` is its step."""

from fashiongan.train.config import TrainConfig, load_config
from fashiongan.train.engine import FitResult, fit
from fashiongan.train.trainer import Trainer, TrainingDiverged

__all__ = ["FitResult", "TrainConfig", "Trainer", "TrainingDiverged", "fit", "load_config"]
