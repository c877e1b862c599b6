"""Training of the class-conditional GAN: config, networks, augmentation, losses, the loop, the collapse monitor."""

from ganaug_core.training.config import TrainConfig
from ganaug_core.training.loop import TrainData, Trainer, TrainResult

__all__ = ["TrainConfig", "TrainData", "Trainer", "TrainResult"]
