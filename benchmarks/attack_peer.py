"""`attack:charflip` vs TextAttack's DeepWordBug on the same model, examples and budget; batched vs single queries.

1. A tiny XLM-R sequence classifier is trained on half of XNLI-en dev (the
   harness's own training loop), saved as a Hugging Face
   ``XLMRobertaForSequenceClassification`` folder, and the same 200 English
   examples from the other half are attacked by TextAttack's
   ``DeepWordBugGao2018`` recipe (loading that folder) and by the harness's
   ``attack:charflip`` (the same weights): success rate (broken / attacked,
   attacked = right when clean), mean queries per attacked example, wall time.
   Budget on both sides: 500 model queries per example, one character edit per
   word, any number of words. TextAttack runs in its own interpreter
   (``--textattack-python``): it needs transformers < 5 (flair, which it
   imports, breaks on 5.x) and NLTK's stopwords corpus, which cannot be
   downloaded offline; ``--nltk-data`` points at a folder holding
   ``corpora/stopwords/english`` (written from the stopword list TextAttack
   ships in its TextFooler recipe, see benchmarks/RESULTS.md).
2. Scoring candidates in batches vs one query at a time, at XLM-R Base size
   (random weights: the compute is the same as real ones).

    python benchmarks/attack_peer.py --textattack-python /tmp/ta-venv/bin/python --nltk-data /tmp/nltkdata
    python benchmarks/attack_peer.py --only batching --size base --candidates 64

``--data-dir`` defaults to ``../shared/data`` beside the repository.
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
from eval_overhead import SHARED, build  # benchmarks/eval_overhead.py
from timing import timed  # benchmarks/timing.py

from harness.adapters.bank import Trained
from harness.features import featurize
from harness.models import quiet_transformers
from harness.noise.attacks import GOALS, AttackSpec, Budget, attack, transformation
from harness.query import ModelQuery
from harness.registry import TaskIndex
from harness.task import DocSelection, Task
from harness.training import Stream, TaskModel, TrainArgs, train

CPU = torch.device("cpu")

TEXTATTACK = r"""
import json, sys, time
from collections import OrderedDict
import transformers, textattack
from textattack.attack_recipes import DeepWordBugGao2018
from textattack.attack_results import FailedAttackResult, SkippedAttackResult, SuccessfulAttackResult
from textattack.models.wrappers import HuggingFaceModelWrapper

folder, examples, budget = sys.argv[1], json.load(open(sys.argv[2])), int(sys.argv[3])
model = transformers.AutoModelForSequenceClassification.from_pretrained(folder).eval()
tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
attack = DeepWordBugGao2018.build(HuggingFaceModelWrapper(model, tokenizer))
attack.goal_function.query_budget = budget
counts, queries, started = {"broken": 0, "failed": 0, "skipped": 0}, [], time.perf_counter()
for e in examples:
    result = attack.attack(OrderedDict(premise=e["text"], hypothesis=e["text_pair"]), e["target"])
    if isinstance(result, SkippedAttackResult):
        counts["skipped"] += 1
        continue
    counts["broken" if isinstance(result, SuccessfulAttackResult) else "failed"] += 1
    queries.append(result.num_queries)
print(json.dumps({**counts, "queries": sum(queries) / len(queries), "seconds": time.perf_counter() - started,
                  "version": textattack.__name__ + " " + getattr(textattack, "__version__", "0.3.11")}))
"""


def trained_classifier(task: Task, examples: list[dict], out: Path) -> tuple[Trained, object, Path]:
    """A tiny classifier trained on ``examples``, as a harness model and as a saved HF folder."""
    from transformers import XLMRobertaForSequenceClassification

    encoder, tokenizer = build("tiny", [e["text"] for e in examples] + [e["text_pair"] for e in examples])
    torch.manual_seed(0)
    head = task.type.make_head(encoder.config.hidden_size, task.cfg)
    features = featurize(task.type, examples, tokenizer, 128, task.cfg)
    args = TrainArgs(epochs=3, learning_rate=1e-3, batch_size=32, max_length=128)
    train([Stream(TaskModel(encoder, head, task.type), features)], args, CPU, torch.float32, tokenizer.pad_token_id)
    encoder.eval(), head.eval()
    hf = XLMRobertaForSequenceClassification(encoder.config.__class__(**{**encoder.config.to_dict(), "num_labels": 3}))
    hf.roberta.load_state_dict(encoder.state_dict())
    hf.classifier.load_state_dict(head.state_dict())
    hf.save_pretrained(out), tokenizer.save_pretrained(out)
    model = Trained("bench", "target", {task.family: head}, encoder=encoder, info={"args": {"max_length": 128}})
    return model, tokenizer, out


def peer(args: argparse.Namespace, task: Task, examples: list[dict]) -> None:
    half = len(examples) // 2
    with tempfile.TemporaryDirectory() as tmp:
        model, tokenizer, folder = trained_classifier(task, examples[:half], Path(tmp) / "hf")
        victims = examples[half : half + args.examples]
        from harness.models import Base

        base = Base("bench", str(folder), "bench", False, {}, model.encoder, tokenizer)
        spec = AttackSpec("charflip", words=1.0, edits=1, queries=args.queries)
        query = ModelQuery(model, task, base, CPU, torch.float32, 32)
        started = time.perf_counter()
        outcomes = attack(victims, task.noise_fields, task.type.name, query, GOALS[task.type.name](task.cfg.label_list),
                          transformation(spec, task.cfg.task, "en", 0, None), Budget(1.0, args.queries))  # fmt: skip
        ours = time.perf_counter() - started
        attacked = [o for o in outcomes if o.attacked]
        rows = [("attack:charflip", sum(o.broken for o in attacked), len(attacked),
                 sum(o.queries for o in attacked) / len(attacked), ours)]  # fmt: skip
        if args.textattack_python:
            (Path(tmp) / "examples.json").write_text(json.dumps(victims))
            env = {**os.environ, **({"NLTK_DATA": args.nltk_data} if args.nltk_data else {})}
            done = subprocess.run([args.textattack_python, "-c", TEXTATTACK, str(folder), str(Path(tmp) / "examples.json"),
                                   str(args.queries)], capture_output=True, text=True, env=env)  # fmt: skip
            if done.returncode:
                sys.exit(f"TextAttack failed:\n{done.stderr[-3000:]}")
            ta = json.loads(done.stdout.strip().splitlines()[-1])
            rows.append(("TextAttack DeepWordBug", ta["broken"], ta["broken"] + ta["failed"], ta["queries"],
                         ta["seconds"]))  # fmt: skip
    print(f"{len(victims)} XNLI-en examples, budget {args.queries} queries, threads={torch.get_num_threads()}")
    print(f"{'attack':<24} {'success %':>10} {'attacked':>9} {'queries':>9} {'seconds':>9}")
    for name, broken, n, queries, seconds in rows:
        print(f"{name:<24} {100 * broken / n:>10.1f} {n:>9} {queries:>9.1f} {seconds:>9.1f}")
    if len(rows) == 2:
        print(f"speed-up: {rows[1][4] / rows[0][4]:.1f}x (goal >= 10x)")


def batching(args: argparse.Namespace, task: Task, examples: list[dict]) -> None:
    """One query of N candidates (length-sorted batches) vs N queries of one candidate."""
    from harness.models import Base

    candidates = examples[: args.candidates]
    encoder, tokenizer = build(args.size, [e["text"] for e in examples] + [e["text_pair"] for e in examples])
    torch.manual_seed(0)
    model = Trained("bench", "target", {task.family: task.type.make_head(encoder.config.hidden_size, task.cfg)},
                    encoder=encoder, info={"args": {"max_length": 128}})  # fmt: skip
    base = Base("bench", "", "bench", False, {}, encoder, tokenizer)

    def batched() -> None:
        ModelQuery(model, task, base, CPU, torch.float32, 32)(candidates)

    def single() -> None:
        query = ModelQuery(model, task, base, CPU, torch.float32, 1)
        for e in candidates:
            query([e])

    t_batched, t_single = timed(batched, 1, CPU), timed(single, 1, CPU)
    print(f"model={args.size} candidates={len(candidates)} threads={torch.get_num_threads()}: batched {t_batched:.2f}s, "
          f"one at a time {t_single:.2f}s, ratio {t_single / t_batched:.1f}x (goal on a GPU >= 20x)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["peer", "batching"])
    parser.add_argument("--examples", type=int, default=200)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--textattack-python", help="An interpreter with textattack installed (see the docstring).")
    parser.add_argument("--nltk-data", help="NLTK_DATA for TextAttack (corpora/stopwords/english).")
    parser.add_argument("--size", default="base", choices=["tiny", "base", "large"])
    parser.add_argument("--candidates", type=int, default=64)
    parser.add_argument("--data-dir", type=Path, default=SHARED, help="Holds xnli/dev-en.tsv [default: %(default)s].")
    args = parser.parse_args()
    quiet_transformers()
    if not (args.data_dir / "xnli").is_dir():
        sys.exit(f"needs the XNLI dev files under {args.data_dir} (--data-dir)")
    task = Task(TaskIndex().task("xnli_en"))
    examples = task.examples("validation", args.data_dir, DocSelection(seed=0))
    if args.only != "batching":
        peer(args, task, examples)
    if args.only != "peer":
        batching(args, task, examples)


if __name__ == "__main__":
    main()
