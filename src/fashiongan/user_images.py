"""Reading an image a user hands us: Pillow's decompression-bomb guard as an error, and one line for every
way a file can fail to be an image, so colorize, restyle and the web app say the same thing."""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from typing import Iterator

from PIL import Image, UnidentifiedImageError

from fashiongan.errors import FashionGANError


@contextmanager
def reading(name: str, advice: str = "") -> Iterator[None]:
    """Turn what opening and decoding ``name`` may raise into one-line FashionGANErrors; ``advice`` is
    appended to the too-large message (what the user should do)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise FashionGANError(f"{name} is too large to decode safely ({exc}){advice}") from None
    except FileNotFoundError:
        raise FashionGANError(f"{name} does not exist") from None
    except IsADirectoryError:
        raise FashionGANError(f"{name} is a folder, not an image") from None
    except PermissionError:
        raise FashionGANError(f"{name} cannot be read (permission denied)") from None
    except UnidentifiedImageError:
        raise FashionGANError(f"{name} is not an image Pillow can read (PNG or JPEG, say)") from None
    except (OSError, SyntaxError, ValueError) as exc:  # truncated or corrupt data
        raise FashionGANError(f"{name} is damaged or truncated ({exc})") from None
