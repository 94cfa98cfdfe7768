"""DCGAN: the GAN losses on the conv backbone of pytorch-generative-model-collections (its GAN.py)."""

from dataclasses import replace

from fashiongan.objectives import gan

OBJECTIVE = replace(gan.OBJECTIVE, name="dcgan", description="DCGAN: GAN losses on the shared conv generator and discriminator")
