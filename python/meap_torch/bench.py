"""python -m meap_torch.bench CONFIG.json STEPS [--device cpu|cuda] [--bf16] [--threads N]
The twin's training speed on a study config, as JSON: every run's tokens (runs x batch x context) per second
over STEPS steps after two warm-up steps, data drawing included (as the engine's own measurement does)."""
import argparse
import json
import sys
import time

import torch

from .training import StudyTrainer


def main(argv) -> None:
    p = argparse.ArgumentParser(prog="python -m meap_torch.bench")
    p.add_argument("config")
    p.add_argument("steps", type=int)
    p.add_argument("--device", default="cpu")
    p.add_argument("--bf16", action="store_true")
    p.add_argument("--threads", type=int, default=0)
    args = p.parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    with open(args.config) as f:
        config = json.load(f)
    trainer = StudyTrainer(config, device=args.device, bf16=args.bf16)
    for _ in range(2):
        trainer.step()
    sync = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)
    sync()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        trainer.step()  # float(loss) inside waits for each run's step
    sync()
    seconds = time.perf_counter() - t0
    tokens = len(trainer.owned) * config["batch"] * config["model"]["context"] * args.steps
    json.dump({"tokensPerSec": tokens / seconds, "seconds": seconds, "steps": args.steps,
               "torch": torch.__version__, "device": args.device, "threads": torch.get_num_threads()}, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1:])
