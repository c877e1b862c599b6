"""The note that torch's threads will wait on each other: said by every command that trains on the CPU (`train`,
`benchmark`, `demo`) and by the job worker, which trains for the app."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class BusyMachine:
    load: float  # the 1-minute load average
    cores: int
    threads: int  # torch's intra-op threads

    def note(self, command: str) -> str:
        """The note for people; `command` is what to start again with `OMP_NUM_THREADS=1`."""
        return (f"note: this machine is busy (load {self.load:.1f} on {self.cores} cores): torch's {self.threads} "
                "threads wait on each other and training may run several times slower than it could; "
                f"`OMP_NUM_THREADS=1 {command}` trained 2–14× the steps/s on a busy 2-core machine "
                "(README, \"A machine shared with other heavy work\")")


def busy_machine(device: str = "cpu") -> Optional[BusyMachine]:
    """The machine's load when other work already keeps every core busy and torch would train with a thread per
    core: its threads then wait on each other. On a busy 2-core machine (load 4–7, 2026-12-06) one thread trained a
    32² colour dataset at 7.4–11.0 steps/s, the default two at 0.8–3.2. None when that is not so, or the thread count
    is already chosen (OMP_NUM_THREADS). Read it before training: training loads the machine itself.

    Not switched for the user: the thread count can change a run's bytes, and a resume must give the same weights."""
    if device != "cpu" or os.environ.get("OMP_NUM_THREADS"):
        return None
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # not on every platform
        return None
    cores = os.cpu_count() or 1
    if load < cores:
        return None
    import torch  # only now: a worker on a quiet machine starts without waiting for it

    threads = torch.get_num_threads()
    return BusyMachine(load, cores, threads) if threads >= 2 else None


def busy_machine_note(device: str = "cpu", command: str = "ganaug train ...") -> Optional[str]:
    """`busy_machine`'s note, naming `command`; None on a machine with cores to spare."""
    busy = busy_machine(device)
    return None if busy is None else busy.note(command)
