"""python -m meap_torch.train EXPORT_DIR [--device cpu|cuda] [--bf16] [--float64] [--threads N] [--data-parallel]

Trains a study exported by `npm run export-study` and writes the engine's study record (EXPORT_DIR/result:
units/unit-UU.json and study.json) for `npm run reproduce -- --from`. Under torchrun (or meap_torch.launch)
the study's runs are spread over the ranks, run i of the study (units in order) on rank i mod WORLD_SIZE;
every rank draws every data and mask stream, so a run's numbers do not depend on where it trains. With
--data-parallel (a model too big to train many runs per device) every rank trains every run on its slice of each
batch under DistributedDataParallel: the same numbers up to the order of the gradient sums."""
import argparse
import datetime
import json
import os
import sys
import time

import torch

from .distributed import World
from .study_record import study_record, unit_record
from .unit_training import train_unit_runs


def parse(argv):
    p = argparse.ArgumentParser(prog="python -m meap_torch.train")
    p.add_argument("export_dir")
    p.add_argument("--device", default="cpu", help="cpu or cuda (each rank takes cuda:LOCAL_RANK)")
    p.add_argument("--bf16", action="store_true", help="bf16 autocast for the forward pass (large models on GPU)")
    p.add_argument("--float64", action="store_true", help="train in float64 (as the playground's CPU engine)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads per rank (0: torch's default)")
    p.add_argument("--data-parallel", action="store_true",
                   help="every rank trains every run on a slice of each batch (DistributedDataParallel)")
    p.add_argument("--out", default=None, help="where to write the record (default EXPORT_DIR/result)")
    return p.parse_args(argv)


def main(argv) -> int:
    args = parse(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    world = World(args.device)
    device = f"cuda:{world.local_rank}" if args.device == "cuda" else args.device
    with open(os.path.join(args.export_dir, "export.json")) as f:
        export = json.load(f)
    dtype = torch.float64 if args.float64 else torch.float32
    mine = []
    item = 0
    for unit in export["units"]:
        R = len(unit["config"]["arms"]) * unit["config"]["seedsPerArm"]
        owned = list(range(R)) if args.data_parallel else [r for r in range(R) if world.owns(item + r)]
        item += R
        if not owned:
            continue
        started, t0 = datetime.datetime.now(datetime.timezone.utc), time.perf_counter()
        results = train_unit_runs(args.export_dir, unit, owned, device, dtype, args.bf16,
                                  export["definition"]["attentionExamples"],
                                  (world.rank, world.size) if args.data_parallel and world.size > 1 else None)
        mine.append({"unit": unit["unit"], "runs": results, "startedAt": started.isoformat(),
                     "finishedAt": datetime.datetime.now(datetime.timezone.utc).isoformat(),
                     "wallMs": round((time.perf_counter() - t0) * 1000)})
    # Data-parallel ranks hold the same runs; rank 0's copy is the record.
    gathered = [mine] if args.data_parallel else world.gather(mine)
    if world.rank == 0:
        adapter = f"PyTorch {torch.__version__} ({args.device}{', bf16' if args.bf16 else ''}" \
                  f"{', float64' if args.float64 else ''}; {world.size} rank(s){', data-parallel' if args.data_parallel else ''})"
        parts = [part for rank_parts in gathered for part in rank_parts]
        units = [unit_record(export, unit, [p for p in parts if p["unit"] == unit["unit"]], adapter, args.device == "cpu")
                 for unit in export["units"]]
        out = args.out or os.path.join(args.export_dir, "result")
        os.makedirs(os.path.join(out, "units"), exist_ok=True)
        for unit in units:
            write_json(os.path.join(out, "units", f"unit-{unit['unit']:02d}.json"), unit)
        command = " ".join(["python -m meap_torch.train", *argv])
        write_json(os.path.join(out, "study.json"), study_record(export, units, command))
        print(f"meap_torch.train: wrote {out}/study.json ({len(units)} unit(s), {world.size} rank(s))")
    world.close()
    return 0


def write_json(path: str, value) -> None:
    # allow_nan=False: JavaScript's JSON has no NaN, so study_record turned them into null first.
    with open(path + ".tmp", "w") as f:
        json.dump(value, f, allow_nan=False)
        f.write("\n")
    os.replace(path + ".tmp", path)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
