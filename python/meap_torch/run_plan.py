"""Port of src/engine/runPlan.ts: runs (r = arm * seedsPerArm + seed), seeds, batches and masks drawn in the
engine's order, and each step's AdamW hyperparameters rounded to float32 as the engine's `hyper` rows are."""
from dataclasses import dataclass

from .f32 import f32
from .layout import init_parameters
from .mask_policy import fill_mask
from .rng import Rng, derive_seed
from .schedule import learning_rate
from .tasks import create_task


@dataclass(frozen=True)
class RunInfo:
    arm: int
    mask_ratio: float
    seed: int

    @property
    def objective(self) -> str:
        return "ntp" if self.mask_ratio == 0 else "meap"


@dataclass(frozen=True)
class AdamWHyper:
    """One step's optimizer numbers exactly as the engine's f32 `hyper` row holds them."""
    lr: float
    beta1: float
    beta2: float
    eps: float
    weight_decay: float
    bias_correction1: float
    bias_correction2: float


class RunPlan:
    def __init__(self, config: dict):
        self.config = config
        unported = [f for f in ("replace", "protect") if config.get(f) not in (None, "mask", [])]
        if config["optimizer"].get("scheduleSteps") is not None:
            unported.append("optimizer.scheduleSteps")
        if unported:
            raise NotImplementedError(f"the twin does not implement {', '.join(unported)} yet")
        arms, seeds, base = config["arms"], config["seedsPerArm"], config["baseSeed"]
        self.runs = [RunInfo(arm, ratio, seed) for arm, ratio in enumerate(arms) for seed in range(seeds)]
        self.task = create_task(config["task"], config["taskOptions"])
        T = config["model"]["context"]
        ev = config["evaluation"]
        self.eval_set = self.task.eval_set(ev["count"], T, ev["buckets"], ev["seed"])
        self.data_rngs = [Rng(derive_seed(base, s, "data")) for s in range(seeds)]
        self.mask_rngs = [Rng(derive_seed(base, run.seed, run.arm, run.mask_ratio, "mask")) for run in self.runs]
        self.step = 0

    def initial_parameters(self, seed: int) -> dict:
        return init_parameters(self.config["model"], derive_seed(self.config["baseSeed"], seed, "init"))

    def next_step(self):
        """(tokens by seed [S][B*(T+1)], masks by run [R][B*T], AdamWHyper): every batch first, then each mask."""
        c = self.config
        B, T = c["batch"], c["model"]["context"]
        by_seed = [self.task.training_batch(rng, B, T) for rng in self.data_rngs]
        tail = max(1, self.task.query_length) if c.get("protectQuery") else 1
        masks = [fill_mask(B, T, run.mask_ratio, c["sharedMask"], tail, self.mask_rngs[r])
                 for r, run in enumerate(self.runs)]
        self.step += 1
        return by_seed, masks, self.hyper(self.step)

    def hyper(self, step: int) -> AdamWHyper:
        o = self.config["optimizer"]
        lr = learning_rate(o["lr"], o["warmupSteps"], self.config["steps"], o["minLrRatio"], step)
        return AdamWHyper(f32(lr), f32(o["beta1"]), f32(o["beta2"]), f32(o["eps"]), f32(o["weightDecay"]),
                          f32(1 - o["beta1"] ** step), f32(1 - o["beta2"] ** step))
