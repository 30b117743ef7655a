"""python -m meap_torch.evaluate STUDY_CONFIG.json MODEL.safetensors... [--float64]
Evaluates saved models (the engine's or the page's safetensors export) on the study's evaluation set, as JSON:
one {valLoss, retrievalAcc, accByDepth} per model, scored as the engine scores (evaluationTally.ts)."""
import json
import sys

import torch

from .evaluation import evaluate_run
from .model import MeapLlama
from .run_plan import RunPlan
from .safetensors_io import read_safetensors
from .study_record import json_safe


def main(argv) -> None:
    dtype = torch.float64 if "--float64" in argv else torch.float32
    paths = [a for a in argv if a != "--float64"]
    with open(paths[0]) as f:
        config = json.load(f)
    plan = RunPlan(config)
    out = []
    for path in paths[1:]:
        model = MeapLlama(config["model"]).to(dtype)
        model.load_flat(read_safetensors(path)[0])
        out.append(evaluate_run(model, plan.eval_set, config["batch"], torch.device("cpu")))
    json.dump(json_safe(out), sys.stdout, allow_nan=False)


if __name__ == "__main__":
    main(sys.argv[1:])
