"""Trains the runs of one study unit that this process owns, evaluating as the engine's training loop does
(after every `evaluation.every` steps and the last), into the engine's HistoryPoint records."""
import os
import time

from .batched import BatchedStudyTrainer
from .safetensors_io import read_safetensors
from .training import StudyTrainer


def is_evaluation_step(config: dict, step: int) -> bool:
    return step % config["evaluation"]["every"] == 0 or step == config["steps"]


def train_unit_runs(export_dir: str, unit: dict, runs: list, device: str, dtype, bf16: bool, attention_examples: int,
                    data_parallel=None, batched: bool = False) -> dict:
    """run index -> {history: [points], attention: AttentionRecord or None}, for the given runs of the unit.
    `batched`: train the runs together as one stacked computation (BatchedStudyTrainer: much faster for tiny
    models on CPU; not with data parallelism)."""
    config = unit["config"]
    initial = {s: read_safetensors(os.path.join(export_dir, path))[0] for s, path in enumerate(unit["initial"])}
    if batched and data_parallel is not None:
        raise ValueError("batched training holds every run in one process; it does not combine with data parallelism")
    trainer = (BatchedStudyTrainer if batched else StudyTrainer)(config, runs=runs, dtype=dtype, device=device,
                                                                 bf16=bf16, initial=initial, data_parallel=data_parallel)
    histories = {r: [] for r in runs}
    interval = {r: [] for r in runs}
    share = 1 if data_parallel is None else data_parallel[1]
    tokens_per_step = config["batch"] * config["model"]["context"] * len(runs) // share
    clock, steps_in_interval = time.perf_counter(), 0
    for step in range(1, config["steps"] + 1):
        for r, loss in trainer.step().items():
            interval[r].append(loss)
        steps_in_interval += 1
        if not is_evaluation_step(config, step):
            continue
        seconds = time.perf_counter() - clock
        tokens_per_sec = tokens_per_step * steps_in_interval / seconds if seconds > 0 else 0.0
        for r, e in trainer.evaluate().items():
            losses = interval[r]
            histories[r].append({"step": step, "trainLoss": sum(losses) / len(losses), **e,
                                 "tokensPerSec": tokens_per_sec})
            interval[r] = []
        clock, steps_in_interval = time.perf_counter(), 0
    attention = trainer.analyse_attention(attention_examples) if attention_examples > 0 else {}
    return {r: {"history": histories[r], "attention": attention.get(r)} for r in runs}
