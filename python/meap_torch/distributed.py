"""The torchrun environment (RANK, WORLD_SIZE, MASTER_ADDR/PORT): which share of a study's runs this process
trains, and gathering the records on rank 0. Runs are independent, so spreading them changes no number."""
import os

import torch.distributed as dist


class World:
    def __init__(self, device_type: str):
        self.size = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        if self.size > 1:
            if device_type == "cuda":
                # nccl and gather_object use the current device: one GPU per rank.
                import torch
                torch.cuda.set_device(self.local_rank)
            dist.init_process_group("nccl" if device_type == "cuda" else "gloo")

    def owns(self, item: int) -> bool:
        return item % self.size == self.rank

    def gather(self, obj):
        """Every rank's obj, in rank order, on rank 0 (None elsewhere)."""
        if self.size == 1:
            return [obj]
        out = [None] * self.size if self.rank == 0 else None
        dist.gather_object(obj, out, dst=0)
        return out

    def close(self) -> None:
        if self.size > 1:
            dist.destroy_process_group()
