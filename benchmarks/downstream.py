"""The downstream benchmark on demo:digits: every arm × 5 seeds (or --quick), timed.

    .venv/bin/python benchmarks/downstream.py            # full: all arms × 5 seeds, target ≤ 10 min on 2 cores
    .venv/bin/python benchmarks/downstream.py --quick    # ≤ 2 min
    .venv/bin/python benchmarks/downstream.py --arms classic,gan_classic,gan_mix   # gan_mix runs only when named

It uses its own GANAUG_HOME (benchmarks/out/downstream-home unless --home): ingests demo:digits at 16×16 and
trains a generator there the first time (timed separately: the GAN is an input of the benchmark, not part of
it); later invocations reuse both. Then it runs `run_benchmark` with 2 torch threads, prints a small table and
writes benchmarks/out/downstream[-quick].json and the report folder.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--arms", default="", help="comma-separated arms (default: all but gan_mix)")
    ap.add_argument("--home", type=Path, default=ROOT / "benchmarks" / "out" / "downstream-home")
    ap.add_argument("--resolution", type=int, default=16)
    ap.add_argument("--gan-steps", type=int, default=None, help="generator training steps (default: TrainConfig's)")
    ap.add_argument("--gan-minutes", type=float, default=None, help="or a wall-clock budget for the generator")
    ap.add_argument("--gan-set", action="append", default=[], metavar="FIELD=VALUE",
                    help="TrainConfig override for the generator, e.g. --gan-set r1_gamma=1 --gan-set augment=ada")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--run", type=int, default=None, help="benchmark this run instead of the newest finished one")
    args = ap.parse_args()

    args.home.mkdir(parents=True, exist_ok=True)
    os.environ["GANAUG_HOME"] = str(args.home.resolve())
    import torch

    torch.set_num_threads(args.threads)
    from db.engine import session_scope
    from db.datasets import find_dataset
    from ganaug.benchmark_inputs import resolve_run
    from ganaug.benchmarking import format_summary, run_benchmark
    from ganaug.datasets import ingest_dataset
    from ganaug.runs import default_config, train_run
    from ganaug_core.datasets import IngestOptions
    from ganaug_core.progress import tqdm_progress

    name = f"digits{args.resolution}"
    with session_scope() as s:
        dataset = find_dataset(s, name)
    if dataset is None:
        dataset, _ = ingest_dataset("demo:digits", name, IngestOptions(resolution=args.resolution))
    gan_seconds = None
    if args.run is None and resolve_run(dataset.id, name, None) is None:
        overrides = {}
        if args.gan_steps is not None:
            overrides["steps"] = args.gan_steps
        if args.gan_minutes is not None:
            overrides["minutes"] = args.gan_minutes
        for item in args.gan_set:
            key, _, value = item.partition("=")
            try:
                overrides[key] = json.loads(value)  # numbers, true/false, null
            except ValueError:
                overrides[key] = value  # plain strings such as ada or resnet
        start = time.perf_counter()
        with tqdm_progress() as progress:
            run_id = train_run(name, default_config(name, **overrides), progress)
        gan_seconds = time.perf_counter() - start
        print(f"trained generator run {run_id} in {gan_seconds:.0f} s", file=sys.stderr)

    start, cpu_start = time.perf_counter(), time.process_time()
    with tqdm_progress() as progress:
        result = run_benchmark(name, args.arms or None, args.seeds, args.quick, None, args.run, progress)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    print(format_summary(result))
    # On a shared machine the wall time depends on the neighbours; the process CPU time (all threads) does not.
    print(f"benchmark wall time: {seconds:.0f} s, CPU time {cpu_seconds:.0f} s ({args.threads} torch threads); "
          "generator training: "
          + (f"{gan_seconds:.0f} s" if gan_seconds is not None else "reused"))
    comp = result["comparison"]
    for arm, r in comp["arms"].items():
        for metric, row in r["metrics"].items():
            print(f"  {arm:<13} {metric:<18} vs {row['baseline']:<10} diff {row['mean_diff']:+.3f} "
                  f"[{row['low']:+.3f}, {row['high']:+.3f}]  wins {row['wins']}/{row['n']}  beats: {row['beats']}")
    out = ROOT / "benchmarks" / "out"
    out.mkdir(parents=True, exist_ok=True)
    path = out / ("downstream-quick.json" if args.quick else "downstream.json")
    path.write_text(json.dumps({"wall_seconds": seconds, "cpu_seconds": cpu_seconds, "gan_seconds": gan_seconds, "threads": args.threads,
                                **result}, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
