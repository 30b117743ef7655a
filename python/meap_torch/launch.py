"""A minimal stand-in for `torchrun --nproc_per_node N` (Debian's torch 1.13 torchrun crashes on Python 3.11):
  python -m meap_torch.launch --nproc_per_node N -m MODULE ARGS...
starts N processes with the environment torchrun sets and exits non-zero if any rank fails."""
import os
import socket
import subprocess
import sys


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv) -> int:
    if len(argv) < 4 or argv[0] != "--nproc_per_node" or argv[2] != "-m":
        print("usage: python -m meap_torch.launch --nproc_per_node N -m MODULE ARGS...", file=sys.stderr)
        return 2
    n = int(argv[1])
    port = str(free_port())
    procs = []
    for rank in range(n):
        env = dict(os.environ, MASTER_ADDR="127.0.0.1", MASTER_PORT=port, RANK=str(rank), WORLD_SIZE=str(n),
                   LOCAL_RANK=str(rank), LOCAL_WORLD_SIZE=str(n))
        procs.append(subprocess.Popen([sys.executable, "-m", *argv[3:]], env=env))
    codes = [p.wait() for p in procs]
    failed = [r for r, c in enumerate(codes) if c != 0]
    if failed:
        print(f"launch: rank(s) {failed} failed (exit codes {codes})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
