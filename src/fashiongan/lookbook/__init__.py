"""Outfits of generated items, vouched for by the judges, as a lookbook page (library behind `fashiongan lookbook`).

``build(outfits, seed, rules, lock)`` makes a :class:`Lookbook` in memory; ``write(lookbook, out)`` puts
index.html, lookbook.png and manifest.json into a directory in one step. The rules live in rules.yaml.
"""

from fashiongan.lookbook.assemble import MAX_OUTFITS, Lookbook, Outfit, build, check_outfits
from fashiongan.lookbook.capabilities import Capabilities, Models, detect
from fashiongan.lookbook.render import contact_sheet, manifest, page, read_manifest, write
from fashiongan.lookbook.rules import Rules, load as load_rules
from fashiongan.lookbook.select import Recipe, regenerate

__all__ = [
    "MAX_OUTFITS", "Capabilities", "Lookbook", "Models", "Outfit", "Recipe", "Rules", "build", "check_outfits",
    "contact_sheet", "detect", "load_rules", "manifest", "page", "read_manifest", "regenerate", "write",
]
