"""Conditional GAN (Mirza & Osindero 2014): the GAN losses with labels fed to both nets, one-hot
appended to G's noise and as constant planes to D's input (configs/cgan.yaml)."""

from dataclasses import replace

from fashiongan.objectives import gan

OBJECTIVE = replace(gan.OBJECTIVE, name="cgan", description="conditional GAN: labels into G's noise and D's input", conditional=True)
