"""evpose: human pose estimation from event cameras with graph neural networks and
self-supervised pretraining."""

__version__ = "0.1.0"

__all__ = ["__version__"]
