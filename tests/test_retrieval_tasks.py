"""Retrieval tasks end to end: readers, Tatoeba on the real ../shared/data files, BUCC, LAReQA and Mewsli-X on
small fixtures, the zero-shot path (no training; LoRA adapters of other tasks switched off)."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path

import datasets
import pytest
import torch
from rich.console import Console
from test_pipeline import one
from transformers import AutoModel, AutoTokenizer

from harness.adapters.lora import LoraHost, lora_config
from harness.errors import DataError, SpecError
from harness.evaluation import EvalContext
from harness.models import load_encoder
from harness.pipeline import RunConfig, Runner
from harness.readers import READERS
from harness.registry import TaskIndex, builtin_tasks_dir
from harness.spec import RetrievalSettings, parse_task
from harness.task import DocSelection, Task
from harness.tasktypes import get_task_type
from harness.tasktypes.retrieval import RetrievalHead, mined_candidates
from harness.yamlio import FunctionRef, read_spec

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "data"


def run(tmp_path: Path, model: Path, adapters: Path | None = None, **options) -> dict:
    adapter_dir = adapters or tmp_path / "adapters"
    config = RunConfig(model=str(model), output=tmp_path / "runs", adapter_dir=adapter_dir, **options)
    return Runner(config, Console(file=io.StringIO())).run()


def metrics(result: dict) -> dict[str, dict]:
    return {r["task"]: r["metrics"] for r in result["results"]}


# ----------------------------------------------------------------------------- readers


def test_parallel_reader_rejects_misaligned_files(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("x\ny\n")
    (tmp_path / "b").write_text("x\n")
    with pytest.raises(DataError, match="one line per pair"):
        READERS["parallel"]([str(tmp_path / "a"), str(tmp_path / "b")])


def test_bucc_reader_keeps_gold_pairs_and_unpaired_sentences() -> None:
    files = [str(FIXTURES / "bucc2018" / f"de-en.dev.{ext}") for ext in ("de", "en", "gold")]
    docs = READERS["bucc"](files)
    assert len(docs) == 3 + 3 + 4  # gold pairs, unpaired German, unpaired English
    assert docs[0] == {
        "source_lang": "de-000001",
        "source_sentence": "Der Hund schläft im Garten.",
        "target_lang": "en-000005",
        "target_sentence": "Der Hund schläft im Garten.",
    }
    assert docs[-1]["source_lang"] is None and docs[-1]["target_lang"] == "en-000007"


def test_lareqa_reader_builds_the_multilingual_pool() -> None:
    files = sorted(str(p) for p in (FIXTURES / "lareqa" / "xquad-r").glob("*.json"))
    questions = READERS["lareqa"](files, records="questions", language="de")
    assert questions["id"] == ["q1", "q2", "q3"]
    # the answer sentence of q1 in every language of the pool: paragraph 1, sentence 0
    assert questions[0]["relevant"] == ["de_1_0", "en_1_0"]
    assert questions[1]["relevant"] == ["de_1_1", "en_1_1"]
    pool = READERS["lareqa"](files, records="candidates")
    assert len(pool) == 10
    paragraph = "Der Eiffelturm steht in Paris. Er wurde 1889 gebaut. Viele Touristen besuchen ihn jedes Jahr."
    assert pool[0] == {"uid": "de_1_0", "candidate": "Der Eiffelturm steht in Paris." + paragraph, "language": "de"}


def test_lareqa_training_pairs_from_squad_split_sentences() -> None:
    pairs = READERS["lareqa"]([str(FIXTURES / "squad" / "train-v1.1.json")], records="pairs")
    assert len(pairs) == 6
    context = "The sun is a star. It is very hot. Light from the sun reaches Earth in eight minutes."
    assert pairs[1]["candidate"] == "Light from the sun reaches Earth in eight minutes." + context


def test_mewslix_reader_writes_xtreme_queries() -> None:
    docs = READERS["mewslix"]([str(FIXTURES / "mewslix" / "wikinews_mentions-dev.jsonl")], language="de")
    assert docs["example_id"] == ["de-1", "de-2", "de-3"]
    assert docs[0]["query"] == "Paris: Der Präsident besuchte gestern { Paris } ."
    assert docs[1]["query"] == "Berlin: Danach flog er nach { Berlin } (live)."  # braces in the text escaped
    entities = READERS["mewslix"]([str(FIXTURES / "mewslix" / "candidate_set_entities.jsonl")], records="entities")
    assert entities[1]["description"] == "Berlin is the capital of Germany. It has about 3.7 million inhabitants."


# ----------------------------------------------------------------------------- Tatoeba


def test_tatoeba_on_real_files_matches_a_direct_computation(tmp_path: Path, tiny_model_dir: Path, shared_data: Path):
    languages = ["ja"]  # one language: the whole pool of 1000 pairs is embedded
    result = run(tmp_path, tiny_model_dir, tasks=["tatoeba"], data_dir=shared_data, languages=languages, limit=100)
    scores = metrics(result)
    assert [r["n"] for r in result["results"]] == [100]

    # The same numbers, computed directly: mean of hidden_states[1] (14/24 of 2 layers), English queries.
    model, tokenizer = AutoModel.from_pretrained(tiny_model_dir).eval(), AutoTokenizer.from_pretrained(tiny_model_dir)
    index = TaskIndex()

    def embed(texts: list[str]) -> torch.Tensor:
        enc = tokenizer([t.strip() for t in texts], padding=True, truncation=True, max_length=512, return_tensors="pt")
        with torch.no_grad():
            hidden = model(**enc, output_hidden_states=True).hidden_states[1]
        mask = enc["attention_mask"].unsqueeze(-1).float()
        return torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)

    for lang in languages:  # 100 sampled English queries against the whole pool of 1000 sentences
        examples = Task(index.task(f"tatoeba_{lang}")).examples("validation", shared_data)
        queries = torch.tensor(DocSelection(limit=100).sample(list(range(len(examples)))))
        source = embed([e["text"] for e in examples])
        english = embed([examples[i]["text_pair"] for i in queries.tolist()])
        correct = (english @ source.T).argmax(1) == queries
        assert scores[f"tatoeba_{lang}"]["acc"] == pytest.approx(correct.float().mean().item() * 100)


def test_retrieval_layer_option_changes_the_layer(tmp_path: Path, tiny_model_dir: Path, shared_data: Path) -> None:
    options = dict(tasks=["tatoeba"], data_dir=shared_data, languages=["de"], limit=50, limit_pool=True)
    last = run(tmp_path, tiny_model_dir, retrieval_layer=-1, **options)["results"][0]
    assert last["spec"]["retrieval"]["layer"] == -1
    with pytest.raises(SpecError, match="retrieval.layer 5 does not exist"):
        run(tmp_path, tiny_model_dir, retrieval_layer=5, **options)


def test_lora_adapters_of_other_tasks_are_off_for_zero_shot_retrieval(
    tmp_path: Path, tiny_model_dir: Path, shared_data: Path, toy_tasks: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "toy").symlink_to(FIXTURES / "toy")
    (data / "tatoeba").symlink_to(shared_data / "tatoeba")
    options = dict(data_dir=data, include_paths=[toy_tasks], languages=["de"], limit=60, limit_pool=True,
                   log_samples=True)  # fmt: skip
    run(tmp_path / "full", tiny_model_dir, tasks=["tatoeba"], **options)
    run(tmp_path / "lora", tiny_model_dir, tasks=["toy", "tatoeba"], method="lora", learning_rate=5e-2, **options)

    def samples(root: Path) -> list:
        lines = one(root / "runs" / "samples", "tatoeba_de@clean@*").splitlines()
        return [json.loads(line)["prediction"] for line in lines]

    assert samples(tmp_path / "lora") == samples(tmp_path / "full")


# ----------------------------------------------------------------------------- BUCC


def test_bucc_tunes_the_threshold_on_dev_and_applies_it_to_test(tmp_path: Path, tiny_model_dir: Path) -> None:
    options = dict(tasks=["bucc2018"], data_dir=FIXTURES, languages=["de"])
    dev = metrics(run(tmp_path, tiny_model_dir, **options))["bucc2018_de"]
    test = metrics(run(tmp_path, tiny_model_dir, split="test", **options))["bucc2018_de"]
    assert test["threshold"] == pytest.approx(dev["threshold"], rel=1e-6)  # test is cut at dev's threshold
    # the planted translations (identical strings) are mined even by a random model (F1 85.7-100 over 8 seeds)
    assert dev["f1"] >= 80 and test["f1"] >= 80
    assert set(dev) == {"f1", "precision", "recall", "threshold"}


def test_repeated_sentences_have_no_id_and_their_pairs_are_dropped() -> None:
    vectors = {"A": [1.0, 0.0, 0.0], "B": [0.0, 1.0, 0.0], "C": [0.0, 0.0, 1.0]}
    rows = [("s1", "A", "t1", "A"), ("s2", "B", "t2", "B"), ("s3", "B ", None, None), ("s4", "C", "t4", "C")]
    examples, embedded = [], []
    for sid, text, tid, pair in rows:
        examples.append({"id": sid, "text": text, "text_pair": pair, "target": tid})
        embedded.append((torch.tensor(vectors[text.strip()]), torch.tensor(vectors[pair]) if pair else None))
    # "B" and "B " are two lines with one stripped text: read_sent2id drops it, so s2-t2 is not a candidate
    assert set(mined_candidates(embedded, examples, "cpu")) == {("s1", "t1"), ("s4", "t4")}


# ----------------------------------------------------------------------------- LAReQA and Mewsli-X


@pytest.mark.parametrize("family", ["lareqa", "mewslix"])
def test_dual_encoders_train_then_rank_the_pool(
    tmp_path: Path, tiny_model_dir: Path, family: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    options = dict(tasks=[family], data_dir=FIXTURES, languages=["de", "en"], epochs=2, log_samples=True)
    result = run(tmp_path / "a", tiny_model_dir, **options)
    record = result["results"][0]
    assert record["artefact"]["train_stats"]["steps"] > 0
    assert 0 <= record["metrics"]["map@20"] <= 100
    pool_size = 10 if family == "lareqa" else 12
    lines = one(tmp_path / "a" / "runs" / "samples", f"{family}_de@clean@*").splitlines()
    assert all(len(json.loads(line)["prediction"]) == min(20, pool_size) for line in lines)

    # the same model (adapters reused) reads its pool embeddings from the cache instead of embedding the pool
    # again, and ranks the same
    embedded: list[str] = []
    outputs = EvalContext.outputs
    monkeypatch.setattr(EvalContext, "outputs", lambda self, ex, what: embedded.append(what) or outputs(self, ex, what))
    cached = run(tmp_path / "b", tiny_model_dir, adapters=tmp_path / "a" / "adapters", **options)
    assert metrics(cached) == metrics(result)
    assert not [what for what in embedded if what.startswith("rank")]


# ----------------------------------------------------------------------------- hub hooks (hub copies, offline)


def hook(family: str, name: str):
    return FunctionRef(builtin_tasks_dir() / family, f"utils.{name}").resolve()


def flat_squad(path: Path) -> datasets.Dataset:
    """A SQuAD JSON file as the hub's flat rows (no sentence_breaks), like google-research-datasets/xquad_r."""
    squad = json.loads(path.read_text())
    return datasets.Dataset.from_list(
        [
            {
                "id": qa["id"],
                "context": p["context"],
                "question": qa["question"],
                "answers": {
                    "text": [a["text"] for a in qa["answers"]],
                    "answer_start": [a["answer_start"] for a in qa["answers"]],
                },
            }
            for article in squad["data"]
            for p in article["paragraphs"]
            for qa in p["qas"]
        ]
    )


def test_lareqa_hub_hooks_rebuild_the_local_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    folder = FIXTURES / "lareqa" / "xquad-r"
    from_hub, hub_pool = hook("lareqa", "from_hub"), hook("lareqa", "hub_pool")
    monkeypatch.setattr(
        from_hub.__globals__["datasets"], "load_dataset", lambda path, lang, split: flat_squad(folder / f"{lang}.json")
    )
    monkeypatch.setitem(from_hub.__globals__, "LANGUAGES", ("de", "en"))
    from_hub.__globals__["hub_pool_and_relevant"].cache_clear()
    files = sorted(str(p) for p in folder.glob("*.json"))
    local = READERS["lareqa"](files, records="questions", language="de")
    hub = from_hub(flat_squad(folder / "de.json"))
    assert hub["relevant"] == local["relevant"]
    assert (
        hub_pool(flat_squad(folder / "de.json")).to_list() == READERS["lareqa"](files, records="candidates").to_list()
    )
    from_hub.__globals__["hub_pool_and_relevant"].cache_clear()


def test_mewslix_hub_hook_flattens_json_records() -> None:
    path = FIXTURES / "mewslix" / "wikinews_mentions-dev.jsonl"
    nested = datasets.Dataset.from_list([json.loads(line) for line in path.read_text().splitlines()])
    flat = READERS["mewslix"]([str(path)])
    assert hook("mewslix", "from_hub")(nested).to_list() == flat.to_list()
    assert hook("mewslix", "from_hub")(flat) is flat


def test_embeddings_read_whatever_encoder_is_handed_over(tiny_model_dir: Path) -> None:
    """An encoder carrying an active LoRA adapter embeds as the merged model does, not as the base."""
    retrieval, tokenizer = get_task_type("retrieval"), AutoTokenizer.from_pretrained(tiny_model_dir)
    examples = [{"index": 0, "text": "Guten Morgen.", "text_pair": "Good morning."}]
    features = retrieval.encode(examples, tokenizer, 64, None)
    batch = retrieval.collate([{k: v[0] for k, v in features.items()}], tokenizer.pad_token_id)
    head = RetrievalHead(32, RetrievalSettings())

    base = load_encoder(str(tiny_model_dir)).eval()
    host = LoraHost(copy.deepcopy(base))
    host.add("intermediate", lora_config())
    adapted = host.activate(["intermediate"])
    torch.manual_seed(0)
    for name, param in adapted.named_parameters():
        if "lora_B" in name:
            param.data.normal_()
    adapted.eval()
    merged = copy.deepcopy(adapted).merge_and_unload().eval()
    with torch.no_grad():
        plain, lora, reference = (retrieval.forward(m, head, batch).text for m in (base, adapted, merged))
    assert torch.allclose(lora, reference, atol=1e-5)
    assert not torch.allclose(lora, plain, atol=1e-3)


@pytest.mark.parametrize("layer", [0, 1, 2, -1, -3])
def test_evaluation_stops_the_encoder_at_the_pooled_layer(tiny_model_dir: Path, layer: int) -> None:
    """The cut stack (evaluation) embeds exactly as reading that layer from all hidden states (training) does,
    through a LoRA wrapper too, and puts every layer back afterwards."""
    retrieval, tokenizer = get_task_type("retrieval"), AutoTokenizer.from_pretrained(tiny_model_dir)
    examples = [{"index": 0, "text": "Guten Morgen.", "text_pair": "Good morning, everyone."}]
    features = retrieval.encode(examples, tokenizer, 64, None)
    batch = retrieval.collate([{k: v[0] for k, v in features.items()}], tokenizer.pad_token_id)
    host = LoraHost(load_encoder(str(tiny_model_dir)).eval())
    host.add("intermediate", lora_config())
    encoder = host.activate(["intermediate"]).eval()
    head = RetrievalHead(32, RetrievalSettings(layer=layer))
    with torch.no_grad():
        cut = retrieval.forward(encoder, head.eval(), batch)
        full = retrieval.forward(encoder, head.train(), batch)  # training reads all hidden states
    assert torch.equal(cut.text, full.text) and torch.equal(cut.pair, full.pair)
    assert len(host.base.encoder.layer) == 2


@pytest.mark.parametrize(
    "block, message",
    [
        ("{pooling: max}", "retrieval.pooling must be one of mean, cls, not 'max'"),
        ("{layers: 3}", "Did you mean 'layer'"),
    ],
)
def test_bad_retrieval_settings_name_the_file_and_key(tmp_path: Path, block: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(f"task: bad\ntask_type: retrieval\nretrieval: {block}\n")
    with pytest.raises(SpecError, match=message) as error:
        parse_task(read_spec(path))
    assert f"{path}, line 3" in str(error.value)
