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
    p.add_argument("--batched", action="store_true",
                   help="train each unit's runs together as one stacked computation (much faster for tiny models on CPU)")
    p.add_argument("--out", default=None, help="where to write the record (default EXPORT_DIR/result)")
    p.add_argument("--reuse-ntp-from", default=None, metavar="RESULT_DIR",
                   help="take the NTP runs of each unit from another study's result whose unit config differs only in "
                        "the mask policy (replace, protect, protectQuery, sharedMask): NTP draws no masks, so its runs are the same runs")
    p.add_argument("--units", default=None, metavar="FIRST-LAST",
                   help="train only these units (e.g. 8-15), so two processes can share a study's units; a later run "
                        "without --units finds every unit saved and writes the whole study.json")
    p.add_argument("--wait-for-reuse", type=float, default=0, metavar="SECONDS",
                   help="with --reuse-ntp-from: wait up to SECONDS for the other study's unit to be saved (the two "
                        "trained side by side) before training its NTP runs here")
    return p.parse_args(argv)


def main(argv) -> int:
    args = parse(argv)
    if args.batched and args.data_parallel:
        raise SystemExit("--batched trains a unit's runs together in one process; it does not combine with --data-parallel")
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    world = World(args.device)
    device = f"cuda:{world.local_rank}" if args.device == "cuda" else args.device
    with open(os.path.join(args.export_dir, "export.json")) as f:
        export = json.load(f)
    dtype = torch.float64 if args.float64 else torch.float32
    out = args.out or os.path.join(args.export_dir, "result")
    adapter = f"PyTorch {torch.__version__} ({args.device}{', bf16' if args.bf16 else ''}" \
              f"{', float64' if args.float64 else ''}; {world.size} rank(s){', data-parallel' if args.data_parallel else ''})"
    command = " ".join(["python -m meap_torch.train", *argv])
    # One process (or data-parallel ranks, which all hold every run) writes each unit as it finishes, with a
    # study.json of the units so far, so a long study survives being stopped; a rerun skips the saved units.
    incremental = world.size == 1 or args.data_parallel
    done = {u["unit"]: u for u in (saved_unit(out, unit) for unit in export["units"]) if u is not None}
    first, last = parse_units(args.units, len(export["units"]))
    mine = []
    item = 0
    for unit in export["units"]:
        R = len(unit["config"]["arms"]) * unit["config"]["seedsPerArm"]
        owned = list(range(R)) if args.data_parallel else [r for r in range(R) if world.owns(item + r)]
        item += R
        if not owned or unit["unit"] in done or not first <= unit["unit"] <= last:
            continue
        # Another process sharing the study (--units) may have saved it since this one started.
        saved = saved_unit(out, unit) if incremental else None
        if saved is not None:
            done[unit["unit"]] = saved
            continue
        started, t0 = datetime.datetime.now(datetime.timezone.utc), time.perf_counter()
        reused = reusable_ntp_runs(args.reuse_ntp_from, unit, owned, args.wait_for_reuse) if args.reuse_ntp_from else {}
        to_train = [r for r in owned if r not in reused]
        results = train_unit_runs(args.export_dir, unit, to_train, device, dtype, args.bf16,
                                  export["definition"]["attentionExamples"],
                                  (world.rank, world.size) if args.data_parallel and world.size > 1 else None,
                                  batched=args.batched) if to_train else {}
        results.update(reused)
        part = {"unit": unit["unit"], "runs": results, "startedAt": started.isoformat(),
                "finishedAt": datetime.datetime.now(datetime.timezone.utc).isoformat(),
                "wallMs": round((time.perf_counter() - t0) * 1000)}
        if incremental:
            if world.rank == 0:
                done[unit["unit"]] = unit_record(export, unit, [part], adapter, args.device == "cpu")
                write_unit_and_study(out, export, done, command)
                print(f"meap_torch.train: unit {unit['unit'] + 1}/{len(export['units'])} finished in "
                      f"{part['wallMs'] / 1000:.1f} s", flush=True)
        else:
            mine.append(part)
    if not incremental:
        gathered = world.gather(mine)
        if world.rank == 0:
            parts = [part for rank_parts in gathered for part in rank_parts]
            for unit in export["units"]:
                if unit["unit"] not in done:
                    done[unit["unit"]] = unit_record(export, unit, [p for p in parts if p["unit"] == unit["unit"]],
                                                     adapter, args.device == "cpu")
    if world.rank == 0:
        write_unit_and_study(out, export, done, command)
        print(f"meap_torch.train: wrote {out}/study.json ({len(done)} unit(s), {world.size} rank(s))")
    world.close()
    return 0


def parse_units(spec, count: int):
    """(first, last) unit indices of --units FIRST-LAST (all units without it)."""
    if spec is None:
        return 0, count - 1
    try:
        first, last = (int(x) for x in spec.split("-"))
    except ValueError:
        raise SystemExit(f"--units must be FIRST-LAST (e.g. 8-15), got {spec!r}")
    if not 0 <= first <= last < count:
        raise SystemExit(f"--units {spec}: the study has units 0-{count - 1}")
    return first, last


MASK_POLICY_FIELDS = ("replace", "protect", "protectQuery", "sharedMask")


def reusable_ntp_runs(other_out: str, unit: dict, owned: list, wait_seconds: float = 0) -> dict:
    """run index -> {history, attention} of this unit's NTP runs, from the other study's saved unit of the same index
    when its config equals this one's but for the mask-policy fields; {} when there is none (those runs train)."""
    path = unit_path(other_out, unit["unit"])
    deadline = time.monotonic() + wait_seconds
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(5)
    try:
        with open(path) as f:
            other = json.load(f)
    except (OSError, ValueError):
        return {}
    strip = lambda c: {k: v for k, v in c.items() if k not in MASK_POLICY_FIELDS}
    if strip(other["config"]) != strip(unit["config"]):
        raise ValueError(f"--reuse-ntp-from: {path} is another study's unit (its config differs beyond the mask policy)")
    seeds = unit["config"]["seedsPerArm"]
    by_arm_seed = {(run["arm"], run["unitSeed"]): run for run in other["runs"]}
    out = {}
    for r in owned:
        arm, seed = divmod(r, seeds)
        if unit["config"]["arms"][arm] == 0 and (arm, seed) in by_arm_seed:
            run = by_arm_seed[(arm, seed)]
            out[r] = {"history": run["history"], "attention": run["attention"]}
    return out


def unit_path(out: str, unit: int) -> str:
    return os.path.join(out, "units", f"unit-{unit:02d}.json")


def saved_unit(out: str, unit: dict):
    """The unit's record saved by an earlier run of this export (same key), or None."""
    try:
        with open(unit_path(out, unit["unit"])) as f:
            record = json.load(f)
    except (OSError, ValueError):
        return None
    return record if record.get("key") == unit["key"] else None


def write_unit_and_study(out: str, export: dict, done: dict, command: str) -> None:
    """Every finished unit's file, and study.json of the finished units from unit 0 on (the seeds a report can
    pair): a partial record keeps the planned definition, and its report states the seeds it holds."""
    os.makedirs(os.path.join(out, "units"), exist_ok=True)
    for u in sorted(done):
        write_json(unit_path(out, u), done[u])
    contiguous = 0
    while contiguous in done:
        contiguous += 1
    if contiguous > 0:
        write_json(os.path.join(out, "study.json"), study_record(export, [done[u] for u in range(contiguous)], command))


def write_json(path: str, value) -> None:
    # allow_nan=False: JavaScript's JSON has no NaN, so study_record turned them into null first.
    with open(path + ".tmp", "w") as f:
        json.dump(value, f, allow_nan=False)
        f.write("\n")
    os.replace(path + ".tmp", path)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
