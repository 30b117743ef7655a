"""What the parity tests (test/torchTwin.test.ts) compare with the engine, as JSON on stdout:
  python -m meap_torch.parity draws CONFIG.json STEPS       -> first batches and masks, the evaluation set
  python -m meap_torch.parity train CONFIG.json STEPS DTYPE -> per-step losses, final weights, evaluation
                                   (DTYPE float64, float32, or bf16: float32 weights, bf16 autocast as --bf16)
  python -m meap_torch.parity corpus SEED DOCUMENTS         -> the generated corpus's documents
  python -m meap_torch.parity probe CONFIG.json             -> the zero-shot text probe's prompts"""
import json
import sys

from .run_plan import RunPlan
from .study_record import json_safe


def draws(config: dict, steps: int) -> dict:
    plan = RunPlan(config)
    out = []
    for _ in range(steps):
        by_seed, masks, hyper = plan.next_step()
        out.append({"tokens": [by_seed[run.seed] for run in plan.runs], "masks": masks, "lr": hyper.lr,
                    "bc1": hyper.bias_correction1, "bc2": hyper.bias_correction2})
    ev = plan.eval_set
    init = {s: plan.initial_parameters(s) for s in range(config["seedsPerArm"])}
    return {"steps": out, "eval": {"tokens": ev.tokens, "segments": ev.segments, "answers": ev.answers, "buckets": ev.buckets,
                                   "answerPositions": ev.answer_positions}, "init": init}


def train(config: dict, steps: int, dtype_name: str) -> dict:
    """Under a launcher (WORLD_SIZE > 1) every rank trains every run data-parallel; rank 0 answers."""
    import os
    import torch
    from .distributed import World
    from .training import StudyTrainer
    torch.manual_seed(0)
    world = World("cpu")
    bf16 = dtype_name == "bf16"
    trainer = StudyTrainer(config, dtype=torch.float32 if bf16 else getattr(torch, dtype_name), bf16=bf16,
                           data_parallel=(world.rank, world.size) if world.size > 1 else None)
    losses = [[] for _ in trainer.owned]
    for _ in range(steps):
        for r, loss in trainer.step().items():
            losses[r].append(loss)
    weights = {r: {n: t.double().flatten().tolist() for n, t in trainer.weights(r).items()} for r in trainer.owned}
    result = {"losses": losses, "weights": weights, "evaluation": trainer.evaluate()}
    world.close()
    return result if world.rank == 0 else None


def main(argv) -> None:
    if argv[0] == "corpus":
        from .corpus import generate_corpus
        json.dump(generate_corpus(int(argv[1]), int(argv[2])), sys.stdout)
        return
    if argv[0] == "probe":
        from .text_probe import text_probe_set
        with open(argv[1]) as f:
            c = json.load(f)
        p = c["zeroShotProbe"]
        s = text_probe_set(c["taskOptions"]["alphabet"], p["count"], c["model"]["context"], p["buckets"], p["seed"], c["batch"])
        json.dump({"tokens": s.tokens, "segments": s.segments, "answerStart": [a + 1 for a in s.answer_positions],
                   "buckets": s.buckets}, sys.stdout)
        return
    mode, path, steps = argv[0], argv[1], int(argv[2])
    with open(path) as f:
        config = json.load(f)
    result = draws(config, steps) if mode == "draws" else train(config, steps, argv[3])
    if result is not None:
        json.dump(json_safe(result), sys.stdout, allow_nan=False)


if __name__ == "__main__":
    main(sys.argv[1:])
