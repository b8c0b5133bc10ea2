"""LoRA adapters on one resident base: stacking, switching, mixed batches, store round trips and errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from peft.utils import get_peft_model_state_dict, set_peft_model_state_dict

from harness.adapters.lora import LoraHost, lora_config
from harness.adapters.mixed import GroupedHead, MixedEncoder, hooks_restored
from harness.adapters.store import ArtefactStore, StoreError
from harness.evaluation import repeat_batch
from harness.features import featurize
from harness.models import autocast, evaluation_weights, load_base
from harness.registry import TaskIndex
from harness.task import Task
from harness.training import Stream, TaskModel, TrainArgs, train


def random_lora(rank: int = 4):  # random A and B, so every adapter changes the output
    config = lora_config(rank=rank, alpha=8, dropout=0.0)
    config.init_lora_weights = False
    return config


@pytest.fixture
def setup(tiny_model_dir: Path, toy_tasks: Path, toy_data: Path):
    base = load_base(str(tiny_model_dir))
    task = Task(TaskIndex([toy_tasks]).task("toy_en"))
    examples = task.examples("validation", toy_data)[:24]
    features = featurize(task.type, examples, base.tokenizer, 32, task.cfg)
    batch = task.type.collate([features[i] for i in range(8)], base.tokenizer.pad_token_id)
    return base, task, features, batch


def logits(encoder, head, task, batch) -> torch.Tensor:
    with torch.inference_mode():
        return TaskModel(encoder, head, task.type).eval()(batch)


def test_frozen_stack_trains_only_the_target_and_equals_merge_then_train(setup) -> None:
    base, task, features, batch = setup
    host = LoraHost(base.encoder)
    torch.manual_seed(0)
    host.add("inter", random_lora())
    host.add("tgt", random_lora())
    inter_before = {k: v.clone() for k, v in get_peft_model_state_dict(host.peft, adapter_name="inter").items()}
    head = task.type.make_head(base.hidden_size, task.cfg)
    model = TaskModel(host.activate(["inter", "tgt"], train="tgt"), head, task.type)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all(".tgt." in n or n.startswith("head.") for n in trainable)
    args = TrainArgs(epochs=2, learning_rate=1e-2, batch_size=8, seed=0)
    train([Stream(model, features)], args, torch.device("cpu"), torch.float32, base.tokenizer.pad_token_id)
    after = get_peft_model_state_dict(host.peft, adapter_name="inter")
    assert all(torch.equal(inter_before[k], after[k]) for k in after)  # the intermediate stayed frozen

    stacked = logits(host.activate(["inter", "tgt"]), head, task, batch)
    merged = LoraHost(host.merged_copy(["inter"]))  # merge the intermediate first, then the same target on top
    merged.add("tgt", random_lora())
    set_peft_model_state_dict(merged.peft, get_peft_model_state_dict(host.peft, adapter_name="tgt"), adapter_name="tgt")
    assert torch.allclose(stacked, logits(merged.activate(["tgt"]), head, task, batch), atol=1e-5)


def test_continue_starts_from_the_intermediate_weights(setup) -> None:
    base, *_ = setup
    host = LoraHost(base.encoder)
    host.add("inter", random_lora())
    host.add("tgt", random_lora(), init_from="inter")
    a, b = (get_peft_model_state_dict(host.peft, adapter_name=n) for n in ("inter", "tgt"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_switching_never_touches_the_base_weights(setup) -> None:
    base, task, _, batch = setup
    weight = base.encoder.encoder.layer[0].attention.self.query.weight
    storage = weight.untyped_storage().data_ptr()
    host = LoraHost(base.encoder)
    for name in ("ad1", "ad2", "ad3"):
        host.add(name, random_lora())
    head = task.type.make_head(base.hidden_size, task.cfg)
    outputs = []
    for names in (["ad1"], ["ad2"], ["ad1", "ad3"], []):
        outputs.append(logits(host.activate(names), head, task, batch))
        query = host.peft.base_model.model.encoder.layer[0].attention.self.query.base_layer.weight
        assert query is weight and query.untyped_storage().data_ptr() == storage
    assert not torch.allclose(outputs[0], outputs[1])  # the adapters really differ


def test_mixed_batch_equals_switching_and_survives_a_failed_call(setup) -> None:
    base, task, _, batch = setup
    host = LoraHost(base.encoder)
    for name in ("i1", "t1", "t2"):
        host.add(name, random_lora())
    combos = [["i1", "t1"], ["t2"]]
    heads = [task.type.make_head(base.hidden_size, task.cfg) for _ in combos]
    one_by_one = torch.cat([logits(host.activate(c), h, task, batch) for c, h in zip(combos, heads)])
    names = [host.combine(c) for c in combos]
    host.activate([])
    mixed = logits(MixedEncoder(host.peft, names), GroupedHead(heads), task, repeat_batch(batch, len(combos)))
    assert torch.allclose(mixed, one_by_one, atol=1e-5)

    with pytest.raises(ValueError), hooks_restored(host.peft):
        logits(MixedEncoder(host.peft, ["no-such-adapter", "t2"]), GroupedHead(heads), task, repeat_batch(batch, 2))
    assert torch.allclose(logits(host.activate(["t2"]), heads[1], task, batch), one_by_one[8:], atol=1e-6)


def test_stacked_deltas_equal_switching_for_adapters_of_other_ranks_and_layers(setup) -> None:
    """Adapters of different ranks and target layers, stacked into one batched matmul per layer, give what
    switching to each gives, and what PEFT's own mixed path gives."""
    base, task, _, batch = setup
    host = LoraHost(base.encoder)
    for name, rank, modules in (("q2", 2, ["query"]), ("v6", 6, ["value"]), ("qv4", 4, ["query", "value", "dense"])):
        config = lora_config(rank=rank, alpha=8, dropout=0.0, target_modules=modules)
        config.init_lora_weights = False
        host.add(name, config)
    names = ["q2", "v6", "qv4", "q2"]
    heads = [task.type.make_head(base.hidden_size, task.cfg) for _ in names]
    one_by_one = torch.cat([logits(host.activate([n]), h, task, batch) for n, h in zip(names, heads)])
    host.activate([])
    encoder = MixedEncoder(host.peft, names)
    assert encoder.stacked is not None and len(encoder.stacked.layers) == 2 * 5  # query, value and three dense
    stacked = logits(encoder, GroupedHead(heads), task, repeat_batch(batch, len(names)))
    assert torch.allclose(stacked, one_by_one, atol=1e-5)
    encoder.stacked = None  # PEFT's adapter_names path
    assert torch.allclose(
        logits(encoder, GroupedHead(heads), task, repeat_batch(batch, len(names))), stacked, atol=1e-5
    )


def test_bf16_evaluation_weights_give_autocast_outputs_bit_for_bit_and_keep_the_fp32_masters(setup) -> None:
    """bf16 asked for explicitly on the CPU: Linear weights cast once for evaluation give exactly what fp32 weights
    recast by autocast on every forward give (single adapter, stacked mixed, PEFT's mixed path), and afterwards the
    model holds its very fp32 tensors again."""
    base, task, _, batch = setup
    cpu, bf16 = torch.device("cpu"), torch.bfloat16
    host = LoraHost(base.encoder)
    for name in ("i1", "t1", "t2"):
        host.add(name, random_lora())
    torch.manual_seed(0)
    heads = [task.type.make_head(base.hidden_size, task.cfg) for _ in range(2)]
    names = [host.combine(["i1", "t1"]), "t2"]

    def outputs() -> list[torch.Tensor]:
        with autocast(cpu, bf16):
            single = logits(host.activate(["i1", "t1"]), heads[0], task, batch)
            host.activate([])
            mixed = MixedEncoder(host.peft, names)
            stacked = logits(mixed, GroupedHead(heads), task, repeat_batch(batch, 2))
            mixed.stacked = None
            return [single, stacked, logits(mixed, GroupedHead(heads), task, repeat_batch(batch, 2))]

    params = [p for module in (host.peft, *heads) for p in module.parameters()]
    before = [(p.data_ptr(), p.dtype) for p in params]  # the same storage afterwards: the very fp32 tensors
    recast = outputs()
    with evaluation_weights([host.peft, *heads], cpu, bf16):
        query = host.peft.base_model.model.encoder.layer[0].attention.self.query
        assert query.base_layer.weight.dtype == query.lora_A["t1"].weight.dtype == bf16
        assert base.encoder.embeddings.word_embeddings.weight.dtype == torch.float32  # autocast does not cast it
        stored = outputs()
    assert all(r.dtype == bf16 and torch.equal(r, s) for r, s in zip(recast, stored))
    assert [(p.data_ptr(), p.dtype) for p in params] == before
    with evaluation_weights([host.peft], cpu, torch.float32):  # fp32 (the CPU default): nothing is cast
        assert all(p.dtype == torch.float32 for p in host.peft.parameters())


def save_adapter(store: ArtefactStore, host: LoraHost, name: str, base_fp: str, task_type: str) -> str:
    meta = {
        "base_fingerprint": base_fp,
        "base_model": "tiny-test",
        "task_types": [task_type],
        "tasks": ["toy_en"],
        "role": "intermediate",
    }
    store.save(name, meta, lambda d: host.save(name, d / "adapter"))
    return name


def test_store_round_trips_bit_exactly_and_verifies(setup, tmp_path: Path, tiny_model_dir: Path) -> None:
    base, *_ = setup
    host = LoraHost(base.encoder)
    host.add("c0ffee01", random_lora())
    store = ArtefactStore(tmp_path / "store")
    save_adapter(store, host, "c0ffee01", base.fingerprint, "classification")
    meta = store.load_meta("c0ffee01", base.fingerprint, "classification")
    assert meta["content_hash"] and (store.path("c0ffee01") / "adapter" / "adapter_model.safetensors").is_file()

    fresh = LoraHost(load_base(str(tiny_model_dir)).encoder)
    fresh.load("c0ffee01", store.path("c0ffee01") / "adapter")
    saved, loaded = (get_peft_model_state_dict(h.peft, adapter_name="c0ffee01") for h in (host, fresh))
    assert all(torch.equal(saved[k], loaded[k]) for k in saved)

    archive = store.export("c0ffee01", tmp_path)
    other = ArtefactStore(tmp_path / "other")
    assert other.import_archive(archive) == "c0ffee01"
    for path in store.path("c0ffee01").rglob("*"):
        if path.is_file():
            assert path.read_bytes() == (other.path("c0ffee01") / path.relative_to(store.path("c0ffee01"))).read_bytes()
    assert other.verify("c0ffee01")["content_hash"] == meta["content_hash"]


def test_store_errors_are_clear(setup, tmp_path: Path) -> None:
    base, *_ = setup
    host = LoraHost(base.encoder)
    host.add("c0ffee02", random_lora())
    store = ArtefactStore(tmp_path / "store")
    save_adapter(store, host, "c0ffee02", base.fingerprint, "classification")
    with pytest.raises(StoreError, match="trained on base model 'tiny-test'.*pass --model tiny-test"):
        store.load_meta("c0ffee02", "another-base", None)
    with pytest.raises(StoreError, match="task type\\(s\\) classification.*cannot score a tagging task"):
        store.load_meta("c0ffee02", base.fingerprint, "tagging")
    weights = store.path("c0ffee02") / "adapter" / "adapter_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-1] + b"\0")
    with pytest.raises(StoreError, match="does not match its recorded content hash"):
        store.verify("c0ffee02")
    (store.path("badc0ffee0")).mkdir()
    with pytest.raises(StoreError, match="not a valid artefact folder"):
        store.meta("badc0ffee0")
    (tmp_path / "junk.tar.gz").write_bytes(b"not an archive")
    with pytest.raises(StoreError, match="is not an exported artefact"):
        store.import_archive(tmp_path / "junk.tar.gz")
    assert json.loads((store.path("c0ffee02") / "meta.json").read_text())["key"] == "c0ffee02"
