"""Find the garment in a photo taken on a plain backdrop (a product photo: white, cream, grey).

The shipped image-to-image models learnt garments on Fashion-MNIST's black background; handed a garment
on white they restyle the backdrop and leave the garment dark. So the garment is cut out first: the
backdrop is the colour that fills the image's border (when most of the border is near one colour), and
it is every pixel near that colour that the border reaches without crossing the garment (flood fill), so
light prints and buttons inside the garment stay garment. What the border does not reach is the garment,
less the specks along its outline that JPEG ringing leaves (an opening, then pieces under 1% of it dropped).
The model sees the garment on black; its result is put back on the photo's own backdrop, shadows and all.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from fashiongan.images import luminance

DARK = 0.1  # a backdrop with luma below this is already the black the models learnt on
PLAIN = 0.9  # this share of the border near one colour makes a plain backdrop
TOLERANCE = 0.1  # RGB distance (pixels in [0, 1]) still called the backdrop, plus 3x the border's own spread
MIN_GARMENT = 0.02  # the garment covers at least this share of the image, or nothing stood out
MIN_PIECE = 0.01  # a separate piece smaller than this share of the garment is a speck, not a part of it
EDGE_SIGMA = 0.7  # pixels of soft edge, so the composite has no jagged outline


def garment_mask(rgb: np.ndarray) -> np.ndarray | None:
    """float32 (H, W) in [0, 1], 1 on the garment, for an RGB image (H, W, 3) in [0, 1] on a plain backdrop;
    None when there is nothing to cut: the backdrop is black already, busy, or the garment does not stand out."""
    ring = max(1, min(rgb.shape[:2]) // 64)
    border = np.concatenate([part.reshape(-1, 3) for part in (rgb[:ring], rgb[-ring:], rgb[:, :ring], rgb[:, -ring:])])
    colour = np.median(border, axis=0)
    if float(luminance(colour)) < DARK:
        return None
    spread = np.linalg.norm(border - colour, axis=1)
    tolerance = TOLERANCE + 3 * float(np.median(spread))
    if float(np.mean(spread <= tolerance)) < PLAIN:
        return None
    near = np.linalg.norm(rgb - colour, axis=2) <= tolerance
    regions, _ = ndimage.label(near)
    edge = np.unique(np.concatenate([regions[0], regions[-1], regions[:, 0], regions[:, -1]]))
    garment = ndimage.binary_opening(~np.isin(regions, edge[edge > 0]))
    pieces, count = ndimage.label(garment)
    sizes = np.bincount(pieces.ravel(), minlength=count + 1)
    garment = (sizes >= MIN_PIECE * sizes[1:].sum())[pieces] & garment
    if garment.mean() < MIN_GARMENT:
        return None
    return np.clip(ndimage.gaussian_filter(garment.astype(np.float32), EDGE_SIGMA), 0, 1)


def onto(result: np.ndarray, photo: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """uint8 (H, W, 3): a model's ``result`` (uint8) where ``mask`` is the garment, the ``photo``'s own backdrop
    (float (H, W, 3) or grey (H, W) in [0, 1]) elsewhere."""
    backdrop = photo if photo.ndim == 3 else photo[..., None]
    blended = result / 255 * mask[..., None] + backdrop * (1 - mask[..., None])
    return np.clip(np.round(blended * 255), 0, 255).astype(np.uint8)
