"""The torchrun environment (RANK, WORLD_SIZE, MASTER_ADDR/PORT): which share of a study's runs this process
trains, and gathering the records on rank 0. Runs are independent, so spreading them changes no number."""
import os
import pickle

import torch
import torch.distributed as dist


class World:
    def __init__(self, device_type: str):
        self.size = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        # nccl moves tensors on the rank's GPU, gloo on the CPU.
        self.device = torch.device("cuda", self.local_rank) if device_type == "cuda" else torch.device("cpu")
        if self.size > 1:
            if device_type == "cuda":
                torch.cuda.set_device(self.local_rank)
            dist.init_process_group("nccl" if device_type == "cuda" else "gloo")

    def owns(self, item: int) -> bool:
        return item % self.size == self.rank

    def gather(self, obj):
        """Every rank's obj, in rank order, on rank 0 (None elsewhere)."""
        if self.size == 1:
            return [obj]
        # Not dist.gather_object: on torch 2.x it needs numpy, which the twin does not otherwise use.
        payload = torch.frombuffer(bytearray(pickle.dumps(obj)), dtype=torch.uint8).to(self.device)
        sizes = [torch.zeros(1, dtype=torch.long, device=self.device) for _ in range(self.size)]
        dist.all_gather(sizes, torch.tensor([payload.numel()], dtype=torch.long, device=self.device))
        longest = max(int(s) for s in sizes)
        padded = torch.zeros(longest, dtype=torch.uint8, device=self.device)
        padded[:payload.numel()] = payload
        chunks = [torch.empty(longest, dtype=torch.uint8, device=self.device) for _ in range(self.size)]
        dist.all_gather(chunks, padded)
        if self.rank != 0:
            return None
        return [pickle.loads(bytes(chunk[:int(size)].cpu().tolist())) for chunk, size in zip(chunks, sizes)]

    def close(self) -> None:
        if self.size > 1:
            dist.destroy_process_group()
