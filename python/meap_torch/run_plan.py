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
        replace, ids = self.replacement()
        protected_by_seed = self.protected_positions(by_seed)
        masks = [fill_mask(B, T, run.mask_ratio, c["sharedMask"], tail, self.mask_rngs[r], replace, ids,
                           None if protected_by_seed is None else protected_by_seed[run.seed].__getitem__)
                 for r, run in enumerate(self.runs)]
        self.step += 1
        return by_seed, masks, self.hyper(self.step)

    def replacement(self):
        """(replace, the ids it draws from): the task's ordinary tokens for 'random', its filler words for
        'random-filler', none for 'mask' (runPlan.ts maskPolicy)."""
        replace = self.config.get("replace") or "mask"
        if replace == "random":
            return replace, self.task.ordinary_ids
        if replace == "random-filler":
            if not self.task.filler_ids:
                raise ValueError(f"replace: random-filler needs a task with filler words; the {self.task.name} task has none")
            return replace, self.task.filler_ids
        return replace, None

    def protected_positions(self, by_seed):
        """With `protect`: each seed's sequences' protected input positions ([seed][b]); otherwise None."""
        segments = self.config.get("protect")
        if not segments:
            return None
        if self.task.protected_inputs is None:
            raise ValueError(f"protect needs a retrieval task; the {self.task.name} task has no needle or query")
        B, T = self.config["batch"], self.config["model"]["context"]
        return [[self.task.protected_inputs(tokens[b * (T + 1):(b + 1) * (T + 1)], T, segments) for b in range(B)]
                for tokens in by_seed]

    def hyper(self, step: int) -> AdamWHyper:
        o = self.config["optimizer"]
        # scheduleSteps: the cosine's length (default the run's steps); later steps stay at the floor.
        total = o.get("scheduleSteps")
        lr = learning_rate(o["lr"], o["warmupSteps"], self.config["steps"] if total is None else total, o["minLrRatio"], step)
        return AdamWHyper(f32(lr), f32(o["beta1"]), f32(o["beta2"]), f32(o["eps"]), f32(o["weightDecay"]),
                          f32(1 - o["beta1"] ** step), f32(1 - o["beta2"] ** step))
