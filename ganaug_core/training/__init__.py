"""Training of the class-conditional GAN: config, networks, augmentation, losses, the loop, the collapse monitor.

The loop's classes load on first use, so that reading or checking a config (the app's Generate form) imports no
torch."""

from ganaug_core.training.config import TrainConfig

__all__ = ["TrainConfig", "TrainData", "Trainer", "TrainResult"]


def __getattr__(name: str):
    if name in ("TrainData", "Trainer", "TrainResult"):
        from ganaug_core.training import loop

        return getattr(loop, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
