"""python -m meap_torch.device_check CONFIG.json [CONFIG.json ...] [--device cuda] [--steps N] [--out FILE]

Does the twin train on DEVICE as on the CPU? For each config, the per-run and the batched trainer train STEPS steps
on DEVICE in float64, float32 and bf16 autocast, and each is compared with the per-run trainer in float64 on the
CPU (which equals the engine's CPU reference to 1e-12: test/torchTwinTraining). Prints one line per check and
writes the numbers as JSON; exits 1 when a check fails. The GPU kit's run.sh runs it where torch sees CUDA, so the
first session lent a GPU gets the twin's CUDA proof with the engine's numbers."""
import argparse
import json
import math
import sys
import time

import torch

from .batched import BatchedStudyTrainer
from .training import StudyTrainer

# Tolerances against the CPU float64 reference, after STEPS (default 20) steps. float64 on another device differs
# only in summation order (~1e-15 per step, grown by training). float32 carries its own error, which AdamW's
# eps regime amplifies on the tiny preset to ~2e-5 per weight tensor (README: Scale out); bf16 keeps 8 bits.
TOLERANCES = {
    "float64": {"loss": 1e-10, "tensor": 1e-9},
    "float32": {"loss": 1e-5, "tensor": 1e-4},
    "bf16": {"loss": 2e-2, "tensor": None},
}


def train(trainer_class, config: dict, steps: int, device: str, precision: str):
    dtype = torch.float64 if precision == "float64" else torch.float32
    trainer = trainer_class(config, dtype=dtype, device=device, bf16=precision == "bf16")
    start = time.perf_counter()
    losses = [[] for _ in trainer.owned]
    for _ in range(steps):
        for r, loss in trainer.step().items():
            losses[r].append(loss)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    return {"losses": losses, "weights": {r: trainer.weights(r) for r in trainer.owned},
            "evaluation": trainer.evaluate(), "seconds": seconds}


def loss_difference(a: list, b: list) -> float:
    """Largest relative difference of the per-step losses (inf where one is not finite)."""
    worst = 0.0
    for row_a, row_b in zip(a, b):
        for x, y in zip(row_a, row_b):
            worst = max(worst, abs(x - y) / abs(y) if math.isfinite(x) and math.isfinite(y) else math.inf)
    return worst


def tensor_difference(a: dict, b: dict) -> float:
    """Largest ||a - b|| / ||b|| over the runs' weight tensors."""
    worst = 0.0
    for r, tensors in b.items():
        for name, expected in tensors.items():
            got = a[r][name].double()
            worst = max(worst, float((got - expected.double()).norm() / expected.double().norm()))
    return worst


def check(config: dict, label: str, steps: int, device: str) -> list:
    reference = train(StudyTrainer, config, steps, "cpu", "float64")
    results = []
    for trainer_name, trainer_class in (("per-run", StudyTrainer), ("batched", BatchedStudyTrainer)):
        for precision, tolerance in TOLERANCES.items():
            got = train(trainer_class, config, steps, device, precision)
            loss = loss_difference(got["losses"], reference["losses"])
            tensor = tensor_difference(got["weights"], reference["weights"])
            same_accuracy = all(got["evaluation"][r]["retrievalAcc"] == e["retrievalAcc"]
                                for r, e in reference["evaluation"].items())
            passed = loss < tolerance["loss"] and (tolerance["tensor"] is None or tensor < tolerance["tensor"])
            if precision == "float64":
                passed = passed and same_accuracy  # float32 and bf16 may flip a borderline prompt
            results.append({"config": label, "trainer": trainer_name, "precision": precision, "device": device,
                            "steps": steps, "lossDifference": loss, "tensorDifference": tensor,
                            "sameAccuracy": same_accuracy, "tolerance": tolerance, "pass": passed,
                            "seconds": got["seconds"], "referenceSeconds": reference["seconds"]})
            print(f"{'pass' if passed else 'FAIL'}  {label} {trainer_name} {precision} on {device}: losses {loss:.2e}, "
                  f"weights {tensor:.2e} per tensor, accuracies {'equal' if same_accuracy else 'differ'} "
                  f"({got['seconds']:.2f} s; CPU float64 {reference['seconds']:.2f} s)", flush=True)
    return results


def main(argv) -> int:
    p = argparse.ArgumentParser(prog="python -m meap_torch.device_check")
    p.add_argument("configs", nargs="+", help="study config JSON files (a preset's StudyConfig)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--out", help="write the results as JSON here")
    args = p.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print(f"device_check: torch {torch.__version__} sees no CUDA device", file=sys.stderr)
        return 2
    adapter = torch.cuda.get_device_name(0) if args.device.startswith("cuda") else "cpu"
    print(f"device_check: PyTorch {torch.__version__} on {args.device} ({adapter}), {args.steps} steps per config", flush=True)
    results = []
    for path in args.configs:
        with open(path) as f:
            config = json.load(f)
        results += check(config, path.rsplit("/", 1)[-1].removesuffix(".json"), args.steps, args.device)
    failed = [r for r in results if not r["pass"]]
    summary = {"torch": torch.__version__, "device": args.device, "adapter": adapter, "checks": results,
               "passed": len(results) - len(failed), "failed": len(failed)}
    if args.out:
        with open(args.out, "w") as f:
            json.dump(summary, f, indent=1)
    print(f"device_check: {len(results) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
