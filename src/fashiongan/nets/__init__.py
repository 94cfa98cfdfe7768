"""Building blocks and architectures only: no losses, no optimisers."""

from fashiongan.nets import classifiers  # noqa: F401  (registers the classifier architectures)
from fashiongan.nets.registry import architectures, build, register, spec

__all__ = ["architectures", "build", "register", "spec"]
