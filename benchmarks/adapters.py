"""What keeping intermediate-task knowledge in LoRA adapters on one resident XLM-R buys.

Four measurements per model size (random weights: the compute and memory are those of real ones):

1. switch vs reload: time to make another adapter active vs time to load the model again from disk (warm page
   cache) and read its weights onto the device;
2. K (intermediate, target) combinations evaluated by switching adapters vs in mixed-adapter batches;
3. peak training memory of one optimisation step, LoRA vs full fine-tuning (GPU: max allocated; CPU: the
   peak resident memory of a fresh process, minus what the loaded model alone takes);
4. adapter (+ head) size on disk vs a full checkpoint.

    python benchmarks/adapters.py --size base --size large
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from timing import timed  # benchmarks/timing.py

from harness.adapters.lora import LoraHost, lora_config
from harness.adapters.mixed import GroupedHead, MixedEncoder
from harness.evaluation import repeat_batch
from harness.models import quiet_transformers, resolve_device
from harness.tasktypes import get_task_type
from harness.training import TaskModel

SIZES = {"base": (768, 12, 12), "large": (1024, 24, 16)}
VOCAB = 250_002  # XLM-R's: the embedding matrix is most of a checkpoint


class Cfg:  # the bits of a task spec a classification head needs
    label_list = ["entailment", "neutral", "contradiction"]


def encoder(size: str) -> torch.nn.Module:
    from transformers import XLMRobertaConfig, XLMRobertaModel

    hidden, layers, heads = SIZES[size]
    config = XLMRobertaConfig(
        vocab_size=VOCAB,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=4 * hidden,
        max_position_embeddings=514,
        attn_implementation="sdpa",
    )
    torch.manual_seed(0)
    return XLMRobertaModel(config, add_pooling_layer=False).eval()


def batch(n: int, length: int, device: torch.device) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(5, VOCAB, (n, length), generator=g)
    return {
        "input_ids": ids.to(device),
        "attention_mask": torch.ones_like(ids).to(device),
        "labels": torch.zeros(n, dtype=torch.long, device=device),
    }


def switching_and_mixed(size: str, k: int, n: int, length: int, device: torch.device, folder: Path) -> dict:
    cls = get_task_type("classification")
    base = encoder(size)
    t0 = time.perf_counter()
    base.save_pretrained(folder / "base")
    save_s = time.perf_counter() - t0
    from transformers import AutoModel

    def reload() -> None:
        # from_pretrained maps the safetensors file lazily; reading every weight onto the device is the part a
        # reload cannot skip (the first forward pass would pay it otherwise)
        model = AutoModel.from_pretrained(folder / "base", add_pooling_layer=False).to(device)
        sum(float(p.detach().float().sum()) for p in model.parameters())

    reload_s = timed(reload, 2, device, best=False)
    base.to(device)
    host = LoraHost(base)
    names = []
    for i in range(k):
        config = lora_config(rank=8, alpha=16, dropout=0.0)
        config.init_lora_weights = False
        host.add(f"combo{i}", config)
        names.append(f"combo{i}")
    host.peft.eval()
    heads = [cls.make_head(base.config.hidden_size, Cfg).to(device).eval() for _ in names]
    switch_s = timed(lambda: [host.activate([name]) for name in names], 5, device, best=False) / k
    x = batch(n, length, device)
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32

    def switching() -> None:
        with torch.inference_mode(), torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
            for name, head in zip(names, heads):
                TaskModel(host.activate([name]), head, cls)(x).argmax(-1).cpu()

    def mixed() -> None:
        host.activate([])
        with torch.inference_mode(), torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
            model = TaskModel(MixedEncoder(host.peft, names), GroupedHead(heads), cls).eval()
            model(repeat_batch(x, k)).argmax(-1).cpu()

    return {
        "save_s": save_s,
        "reload_s": reload_s,
        "switch_s": switch_s,
        "reload_over_switch": reload_s / switch_s,
        "k": k,
        "examples": n,
        "length": length,
        "switching_eval_s": timed(switching, 3, device),
        "mixed_eval_s": timed(mixed, 3, device),
    }


def sizes_on_disk(size: str, folder: Path) -> dict:
    cls = get_task_type("classification")
    base = encoder(size)
    full = folder / "full"
    base.save_pretrained(full)
    host = LoraHost(base)
    host.add("adapter", lora_config(rank=8, alpha=16))
    host.save("adapter", folder / "adapter")
    from safetensors.torch import save_file

    head = cls.make_head(base.config.hidden_size, Cfg)
    save_file(head.state_dict(), str(folder / "adapter" / "head.safetensors"))

    def mb(p: Path) -> float:
        return sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) / 1e6

    return {
        "adapter_plus_head_mb": mb(folder / "adapter"),
        "full_checkpoint_mb": mb(full),
        "checkpoint_over_adapter": mb(full) / mb(folder / "adapter"),
    }


def peak_memory_child(size: str, method: str, n: int, length: int, device_spec: str) -> dict:
    """Run in a fresh process: one training step, peak memory above the loaded model."""
    device = resolve_device(device_spec)
    cls = get_task_type("classification")
    model = encoder(size).to(device)
    if method == "lora":
        host = LoraHost(model)
        host.add("t", lora_config())
        model = host.activate(["t"], train="t")
    task_model = TaskModel(model, cls.make_head(SIZES[size][0], Cfg).to(device), cls).train()
    params = [p for p in task_model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-5)
    x = batch(n, length, device)
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        loaded = torch.cuda.memory_allocated()
    else:
        loaded = _rss_peak()
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    with torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
        loss = cls.loss(task_model(x), x)
    loss.backward()
    optimizer.step()
    if device.type == "cuda":
        peak = torch.cuda.max_memory_allocated()
    else:
        peak = _rss_peak()
    return {
        "method": method,
        "trainable_params": sum(p.numel() for p in params),
        "peak_training_mb": (peak - loaded) / 1e6,
        "model_mb": loaded / 1e6,
    }


def _rss_peak() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no /proc/self/status")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", action="append", choices=SIZES)
    parser.add_argument("--k", type=int, default=4, help="(intermediate, target) combinations")
    parser.add_argument("--examples", type=int, default=32)
    parser.add_argument("--length", type=int, default=128)
    parser.add_argument("--train-batch", type=int, default=8)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--child", nargs=2, metavar=("SIZE", "METHOD"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    quiet_transformers()
    if args.child:
        print(json.dumps(peak_memory_child(*args.child, args.train_batch, args.length, args.device)))
        return
    device = resolve_device(args.device)
    name = torch.cuda.get_device_name() if device.type == "cuda" else f"CPU ({os.cpu_count()} cores)"
    print(f"# device: {name}; torch {torch.__version__}; threads {torch.get_num_threads()}")
    for size in args.size or ["base"]:
        with tempfile.TemporaryDirectory() as tmp:
            result = {"size": size, **switching_and_mixed(size, args.k, args.examples, args.length, device, Path(tmp))}
        with tempfile.TemporaryDirectory() as tmp:
            result.update(sizes_on_disk(size, Path(tmp)))
        for method in ("lora", "full"):
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    size,
                    method,
                    "--device",
                    args.device,
                    "--train-batch",
                    str(args.train_batch),
                    "--length",
                    str(args.length),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            child = json.loads(out.stdout.strip().splitlines()[-1])
            result[f"{method}_peak_training_mb"] = child["peak_training_mb"]
            result[f"{method}_trainable_params"] = child["trainable_params"]
        result["full_over_lora_memory"] = result["full_peak_training_mb"] / result["lora_peak_training_mb"]
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
