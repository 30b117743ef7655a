"""One study's runs trained in lockstep on the run plan: every process draws every stream (cheap), and trains
the runs it owns, so the same run gets the same batches, masks and updates wherever it runs. With data parallelism
every rank trains every run on its slice of each batch under DistributedDataParallel, whose averaged gradient is the
full batch's (equal slices), so clipping and AdamW see the same gradient as on one device, up to summation order."""
import math
from contextlib import nullcontext

import torch

from .attention import analyse_attention
from .evaluation import evaluate_run
from .model import MeapLlama, masked_inputs, next_token_loss
from .optim import EngineAdamW
from .run_plan import RunPlan
from .text_probe import text_probe_set, zero_shot_retrieval


def setup_trainer(trainer, config: dict, runs, device: str, bf16: bool) -> None:
    """What every trainer holds: the run plan, the config, device, the owned runs and the zero-shot probe set."""
    # float32 is IEEE float32, as the engine computes: no TF32 matmuls on a GPU (`--bf16` is the fast path).
    torch.set_float32_matmul_precision("highest")
    trainer.plan = RunPlan(config)
    trainer.config = config
    trainer.device = torch.device(device)
    trainer.bf16 = bf16
    trainer.owned = list(range(len(trainer.plan.runs))) if runs is None else list(runs)
    probe = config.get("zeroShotProbe")
    # The pretrain-then-probe study scores retrieval on zero-shot text prompts instead (modelAnalysis.ts).
    trainer.probe_set = text_probe_set(config["taskOptions"]["alphabet"], probe["count"], config["model"]["context"],
                                       probe["buckets"], probe["seed"], config["batch"]) if probe else None


class StudyTrainer:
    def __init__(self, config: dict, runs=None, dtype=torch.float32, device="cpu", bf16=False, initial=None,
                 data_parallel=None):
        """`runs`: the run indices this process trains (all by default); `initial`: seed -> name -> values
        (the export's safetensors) instead of re-deriving the engine's init; `data_parallel`: (rank, world size)
        to train each run on this rank's slice of every batch (the process group must be initialised)."""
        setup_trainer(self, config, runs, device, bf16)
        self.models, self.optimizers = {}, {}
        for r in self.owned:
            seed = self.plan.runs[r].seed
            model = MeapLlama(config["model"]).to(dtype)
            model.load_flat(initial[seed] if initial is not None else self.plan.initial_parameters(seed))
            self.models[r] = model.to(self.device)
            self.optimizers[r] = EngineAdamW(self.models[r], config["optimizer"]["maxGradNorm"])
        self.shard = None
        self.forwards = dict(self.models)
        if data_parallel is not None:
            rank, world = data_parallel
            B = config["batch"]
            if B % world != 0:
                raise ValueError(f"data parallelism splits the batch evenly: batch {B} is not a multiple of {world} ranks")
            self.shard = (rank * B // world, (rank + 1) * B // world, world)
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.forwards = {r: torch.nn.parallel.DistributedDataParallel(m, device_ids=ids) for r, m in self.models.items()}

    def _autocast(self):
        if not self.bf16:
            return nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)

    def step(self) -> dict:
        """One training step of every owned run: run index -> loss (NaN when the step was skipped)."""
        B, T = self.config["batch"], self.config["model"]["context"]
        by_seed, masks, hyper = self.plan.next_step()
        losses = {}
        for r in self.owned:
            run = self.plan.runs[r]
            tokens = torch.tensor(by_seed[run.seed], dtype=torch.long, device=self.device).view(B, T + 1)
            mask = torch.tensor(masks[r], dtype=torch.long, device=self.device).view(B, T)
            if self.shard is not None:
                tokens, mask = tokens[self.shard[0]:self.shard[1]], mask[self.shard[0]:self.shard[1]]
            self.models[r].zero_grad(set_to_none=True)
            with self._autocast():
                logits = self.forwards[r](masked_inputs(tokens, mask, self.plan.task.mask_id))
            loss = next_token_loss(logits.float() if self.bf16 else logits, tokens)
            loss.backward()
            norm = self.optimizers[r].step(hyper)
            value = float(loss.detach())
            if self.shard is not None:
                value = _mean_over_ranks(value, self.shard[2], self.device)
            losses[r] = value if math.isfinite(value) and math.isfinite(norm) else float("nan")
        return losses

    def evaluate(self) -> dict:
        """run index -> {valLoss, retrievalAcc, accByDepth} on the clean evaluation set (retrieval from the
        zero-shot probe when the config has one, as the engine's evaluateRuns)."""
        out = {}
        for r in self.owned:
            out[r] = evaluate_run(self.models[r], self.plan.eval_set, self.config["batch"], self.device)
            if self.probe_set is not None:
                out[r]["retrievalAcc"], out[r]["accByDepth"] = zero_shot_retrieval(self.models[r], self.probe_set, self.device)
        return out

    def analyse_attention(self, count: int) -> dict:
        """run index -> AttentionRecord on the first `count` evaluation examples (clean and paired-masked)."""
        seed = self.config["evaluation"]["seed"]
        examples = self.probe_set if self.probe_set is not None else self.plan.eval_set
        return {r: analyse_attention(self.models[r], examples, count, seed, self.plan.task.mask_id, self.device,
                                  self.plan.task.key_ids)
                for r in self.owned}

    def weights(self, r: int) -> dict:
        return {name: p.detach().cpu() for name, p in self.models[r].named_parameters()}


def _mean_over_ranks(value: float, world: int, device) -> float:
    """The full batch's mean loss from equal slices' means (on the rank's device: nccl reduces CUDA tensors only)."""
    import torch.distributed as dist
    t = torch.tensor([value], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return float(t) / world
