"""Building blocks and architectures only: no losses, no optimisers."""

from fashiongan.nets import classifiers  # noqa: F401  (registers the classifier architectures)
from fashiongan.nets import attributes  # noqa: F401  (registers the multi-label attribute classifiers)
from fashiongan.nets import dcgan, dcgan_color, mlp, projection  # noqa: F401  (registers the GAN generators and discriminators)
from fashiongan.nets import patchgan, unet  # noqa: F401  (registers the colorizer's U-Net and PatchGAN)
from fashiongan.nets import cyclegan_discriminators, fabric_classifier, resnet  # noqa: F401  (CycleGAN's nets, the fabric judge)
from fashiongan.nets import vae  # noqa: F401  (registers the VAEs: vae_source, cvae)
from fashiongan.nets import flow  # noqa: F401  (registers flow matching's velocity net)
from fashiongan.nets.gan import Generator
from fashiongan.nets.registry import architectures, build, defaults, register, spec

__all__ = ["Generator", "architectures", "build", "defaults", "register", "spec"]
