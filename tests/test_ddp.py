"""Data-parallel training on CPU (gloo): gradient averaging between two real processes, and
`fashiongan train` under torchrun writing the usual checkpoint."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import torch
import torch.multiprocessing as mp
from safetensors.torch import load_file

import ddp_worker
from catalogue import CLASSES, write_folder
from conftest import write_idx_dir
from fashiongan import hub

SRC = Path(__file__).resolve().parents[1] / "src"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_average_gradients_gives_every_rank_the_mean_and_keeps_weights_identical(tmp_path: Path) -> None:
    # fork: the children start with torch already imported (spawn would import it twice more: ~10 s)
    mp.start_processes(ddp_worker.worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True, start_method="fork")
    ranks = [load_file(tmp_path / f"rank{r}.safetensors") for r in range(2)]
    for r in ranks:
        assert torch.equal(r["p"], torch.full((3,), 1.5)) and torch.equal(r["q"], torch.full((2, 2), 5.0))
        assert r["flag"].item() == 0.5  # one rank of two said "not finite": the engine stops both
        assert r["any_one"].item() and not r["any_none"].item()
    assert torch.equal(ranks[0]["weight"], ranks[1]["weight"]) and torch.equal(ranks[0]["bias"], ranks[1]["bias"])
    # ... and equal to one process taking the step on both ranks' data (up to float summation order).
    torch.manual_seed(0)
    net = torch.nn.Linear(4, 2)
    net(torch.cat([ddp_worker.inputs(0), ddp_worker.inputs(1)])).pow(2).mean().backward()
    ddp_worker.sgd_step(net)
    assert torch.allclose(ranks[0]["weight"], net.weight.detach(), atol=1e-6)
    assert not torch.allclose(ranks[0]["weight"], net.weight.detach() + 1e-3)


def test_train_under_torchrun_writes_a_loadable_checkpoint(tmp_path: Path) -> None:
    data = write_idx_dir(tmp_path / "data", train=256, test=16)
    config = tmp_path / "tiny.yaml"
    small = '{kwargs: {width: 4, hidden: 16}}'
    config.write_text(f"nets: {{generator: {small}, discriminator: {small}}}\ndata: {{limit: 256}}\n")
    out = tmp_path / "run"
    env = {**os.environ, "FASHIONGAN_OFFLINE": "1", "FASHIONGAN_CACHE": str(tmp_path / "cache"),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")])), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--standalone",
               "-m", "fashiongan", "train", "--model", "dcgan", "--config", str(config), "--data-dir", str(data),
               "--steps", "6", "--minutes", "5",  # a time budget makes the ranks agree on stopping every step
               "--batch-size", "8", "--device", "cpu", "--out", str(out), "--json"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=150)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout)["steps"] == 6  # one JSON document: only rank 0 prints
    saved = hub.read_config(out)
    assert saved["training"]["world_size"] == 2 and saved["training"]["step"] == 6
    assert saved["training"]["epoch"] == 6 / (256 // (8 * 2))  # each step consumed 2 x 8 images
    generator = hub.load_checkpoint(out).main
    assert generator.sample(2).shape == (2, 1, 28, 28)
    assert sorted(p.name for p in (out / "samples").iterdir()) == ["step_00000006.png"]


def test_a_streamed_catalogue_trains_under_torchrun_each_process_its_slice(tmp_path: Path) -> None:
    shop = write_folder(tmp_path / "shop", per_class=8)
    config = tmp_path / "tiny.yaml"
    small = '{kwargs: {width: 4, hidden: 16}}'
    config.write_text(f"nets: {{generator: {small}, discriminator: {small}}}\ndata: {{stream: true, workers: 1}}\n"
                      "train: {track_fid: null}\n")
    out = tmp_path / "run"
    env = {**os.environ, "FASHIONGAN_OFFLINE": "1", "FASHIONGAN_CACHE": str(tmp_path / "cache"),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")])), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--standalone",
               "-m", "fashiongan", "train", "--model", "acgan-narrow", "--config", str(config), "--data", f"folder:{shop}",
               "--size", "16", "--steps", "4", "--minutes", "5", "--batch-size", "4", "--device", "cpu", "--out", str(out), "--json"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=150)
    assert done.returncode == 0, done.stderr[-3000:]
    saved = hub.read_config(out)
    assert saved["training"]["world_size"] == 2 and saved["training"]["step"] == 4
    # 29 training items (32 less the 10% held out): 3 steps of 2 x 4 an epoch, so each step took 8 distinct items
    assert saved["training"]["epoch"] == 4 / (29 // (4 * 2))
    assert saved["conditions"]["classes"] == list(CLASSES) and saved["conditions"]["image_shape"] == [3, 16, 16]
