"""What a training run leaves besides the checkpoint: sample grids, progress GIF, loss curves, TensorBoard."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from fashiongan.objectives.base import Report
from fashiongan.train.state import History
from fashiongan.viz import plot_curves, save_gif, save_grid

SAMPLES_DIR = "samples"


class Artifacts:
    """Writes only on the main process; TensorBoard is opened on first use."""

    def __init__(self, out: Path, enabled: bool = True, samples: bool = True) -> None:
        self.out = out
        self.enabled = enabled
        self.samples = samples and enabled
        self._writer = None

    def _tensorboard(self):
        if self._writer is None:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(str(self.out / "tensorboard"))
        return self._writer

    def scalars(self, values: dict[str, float], step: int) -> None:
        if self.enabled:
            for key, value in values.items():
                self._tensorboard().add_scalar(key, value, step)

    def report(self, report: Report, step: int) -> None:
        self.scalars({f"eval/{k}": v for k, v in report.metrics.items()}, step)
        if self.samples and report.grid is not None:
            save_grid(report.grid, self.out / SAMPLES_DIR / f"step_{step:08d}.png", nrow=report.nrow, row_labels=report.row_labels)

    def finish(self, history: History) -> None:
        """Progress GIF from every saved grid (earlier runs' too, after a resume) and the loss curves."""
        if self._writer is not None:
            self._writer.close()
        if not self.samples:
            return
        frames = sorted((self.out / SAMPLES_DIR).glob("step_*.png"))
        if frames:
            save_gif([Image.open(f).convert("P", palette=Image.ADAPTIVE) for f in frames], self.out / "progress.gif")
        curves = {k: _smooth(v) for k, v in history.items() if k.endswith("loss") and v[0]}
        if curves:
            plot_curves(curves, self.out / "losses.png", xlabel="step", ylabel="loss", title="training losses")


def _smooth(series: tuple[list[int], list[float]], points: int = 200) -> tuple[list[float], list[float]]:
    """Mean over equal windows, so a curve of 100k steps stays readable."""
    steps, values = np.asarray(series[0], float), np.asarray(series[1], float)
    window = max(len(values) // points, 1)
    cut = len(values) // window * window
    return steps[:cut].reshape(-1, window).mean(1).tolist(), values[:cut].reshape(-1, window).mean(1).tolist()
