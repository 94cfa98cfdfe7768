"""Which image sizes a stack of stride-2 (de)convolutions can make, and how: what lets one architecture
train at 28 px (Fashion-MNIST) and at a catalogue's 64 or 128 px.

A size is ``start * 2**stages`` with ``start`` in 4..7 and at least two stages: 28 = 7 x 4, 32 = 4 x 8,
64 = 4 x 16, 96 = 6 x 16, 128 = 4 x 32. At 28 px the plan is (7, 2), the layers the nets always had, so
checkpoints written before sizes existed load unchanged.
"""

from __future__ import annotations

STARTS = range(4, 8)
MIN_STAGES = 2


def plan(size: int) -> tuple[int, int]:
    """(start, stages) for ``size``, or ValueError naming the sizes near it that work."""
    if isinstance(size, int) and not isinstance(size, bool) and size > 0:
        start, stages = size, 0
        while start % 2 == 0 and start // 2 >= min(STARTS):
            start, stages = start // 2, stages + 1
            if start in STARTS and stages >= MIN_STAGES:
                return start, stages
    raise ValueError(f"size {size!r} px cannot be made by halving to 4..7 px; use one of {', '.join(map(str, sizes()))}")


def sizes(up_to: int = 256) -> list[int]:
    """Every size :func:`plan` accepts up to ``up_to`` pixels."""
    return sorted({s * 2**k for s in STARTS for k in range(MIN_STAGES, 8) if s * 2**k <= up_to})


def widths(width: int, stages: int, cap: int = 8) -> list[int]:
    """Channels after each stage of an encoder that starts at ``width`` and doubles per stage up to
    ``cap`` x ``width`` (a decoder reads the list backwards): [w, 2w] at 28 px."""
    return [width * min(2**i, cap) for i in range(stages)]
