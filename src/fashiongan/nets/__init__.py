"""Building blocks and architectures only: no losses, no optimisers."""

from fashiongan.nets import classifiers  # noqa: F401  (registers the classifier architectures)
from fashiongan.nets import dcgan, mlp  # noqa: F401  (registers the GAN generators and discriminators)
from fashiongan.nets.gan import Generator
from fashiongan.nets.registry import architectures, build, register, spec

__all__ = ["Generator", "architectures", "build", "register", "spec"]
