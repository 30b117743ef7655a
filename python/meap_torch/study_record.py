"""The engine's record formats (src/study/records.ts UnitRecord, src/study/reportStatistics.ts StudyRecord),
with NaN written as null as JavaScript's JSON.stringify does."""
import datetime
import math

UNIT_FORMAT = "meap-study-unit/1"
STUDY_FORMAT = "meap-study/1"


def json_safe(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    return value


def unit_record(export: dict, unit: dict, parts: list, adapter: str, software: bool) -> dict:
    """One unit's record from the parts the ranks trained (each: run index -> history and attention)."""
    config = unit["config"]
    seeds, seeds_per_unit = config["seedsPerArm"], export["definition"]["seedsPerUnit"]
    results = {}
    for part in parts:
        results.update({int(r): result for r, result in part["runs"].items()})
    runs = []
    for arm, ratio in enumerate(config["arms"]):
        for seed in range(seeds):
            r = arm * seeds + seed
            runs.append({"arm": arm, "maskRatio": ratio, "objective": "ntp" if ratio == 0 else "meap",
                         "seed": unit["unit"] * seeds_per_unit + seed, "unit": unit["unit"], "unitSeed": seed,
                         "history": results[r]["history"], "attention": results[r]["attention"]})
    return json_safe({
        "format": UNIT_FORMAT, "study": export["study"], "quick": export["quick"], "unit": unit["unit"],
        "key": unit["key"], "config": config, "adapter": adapter, "softwareAdapter": software,
        "startedAt": min(p["startedAt"] for p in parts), "finishedAt": max(p["finishedAt"] for p in parts),
        "wallMs": max(p["wallMs"] for p in parts), "runs": runs,
    })


def study_record(export: dict, units: list, command: str) -> dict:
    return json_safe({
        "format": STUDY_FORMAT, "study": export["study"], "quick": export["quick"], "command": command,
        "generatedAt": datetime.datetime.now(datetime.timezone.utc).isoformat(), "definition": export["definition"],
        "units": units,
    })
