"""evpose: human pose estimation from event cameras with graph neural networks and
self-supervised pretraining.

Downstream use, from a checkpoint alone::

    from evpose import load_estimator
    est = load_estimator("model.ckpt", device="cpu")
    out = est.predict(events, camera)   # joints2d, joints3d, parts, confidence
"""

from ._version import __version__

__all__ = ["PoseEstimator", "__version__", "load_estimator"]


def __getattr__(name):
    # imported on first use, so that `import evpose` (e.g. for the file readers) stays light
    if name in ("load_estimator", "PoseEstimator"):
        from . import estimator

        return getattr(estimator, name)
    raise AttributeError(f"module 'evpose' has no attribute {name!r}")
