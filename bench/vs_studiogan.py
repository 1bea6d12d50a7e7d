"""Benchmark: our SAGAN training iteration against StudioGAN's, side by side in one run.

    python bench/vs_studiogan.py --studiogan_python=VENV/bin/python
        --studiogan_src=PATH/PyTorch-StudioGAN/src [--rounds=2] [--iters=10]

Alternates, in rounds, `bench/studiogan_step.py` (run by `--studiogan_python`, a
Python with PyTorch; see that script for StudioGAN's setup) and `bench/train_step.py`
(float32 and mixed_bfloat16, this Python), each in a fresh process, in the order
S, T, T, S, S, T, ... so that a drift of the machine's speed weighs on both sides
alike. Each process prints the median of `--iters` iterations after 3 warm-up ones;
this script prints every round, then the median over rounds of each side, our
speed-ups over StudioGAN's float32 iteration (issue 18's targets: 2.0x float32,
3.5x mixed_bfloat16), the CPU (model, features, whether TensorFlow's oneDNN kernels
were on, from train_step.py's output) and the load average before and after. The last
line is JSON.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TARGETS = {"float32": 2.0, "mixed_bfloat16": 3.5}


def last_json(text):
    """The JSON object on the last line of `text` that parses as one."""
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                continue
    raise ValueError("No JSON line in the benchmark's output:\n" + text[-2000:])


def run(cmd):
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{' '.join(cmd)} exited {done.returncode}:\n{done.stderr[-3000:]}")
    return last_json(done.stdout)


def machine_of(result):
    """The CPU that bench/train_step.py's JSON `result` names: device (model and
    cores), whether oneDNN was on, the CPU's relevant features."""
    first = next(iter(result.values()))
    return {key: first.get(key) for key in ("device", "onednn", "cpu_features")}


def order(rounds):
    """S, T, T, S, S, T, ...: which side runs first in each round."""
    return [("studiogan", "ours") if r % 2 == 0 else ("ours", "studiogan")
            for r in range(rounds)]


def summarize(studiogan_times, ours_times):
    """Medians over rounds and our speed-ups over StudioGAN's float32 iteration.

    studiogan_times: [s per iteration] per round; ours_times: {policy: [s per
    iteration] per round}.
    """
    base = statistics.median(studiogan_times)
    out = {"studiogan_float32_s_per_iter": base, "rounds": len(studiogan_times)}
    for policy, times in ours_times.items():
        ours = statistics.median(times)
        out[policy] = {"s_per_iter": ours, "speedup": base / ours,
                       "target": TARGETS.get(policy),
                       "met": base / ours >= TARGETS.get(policy, float("inf"))}
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--studiogan_python", required=True)
    parser.add_argument("--studiogan_src", required=True)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--policies", default="float32,mixed_bfloat16")
    args = parser.parse_args()
    for name in ("rounds", "iters"):
        if getattr(args, name) < 1:
            parser.error(f"`--{name}` must be positive. Received: {name}={getattr(args, name)}")
    studiogan_cmd = [args.studiogan_python, os.path.join(HERE, "studiogan_step.py"),
                     f"--studiogan_src={args.studiogan_src}", f"--iters={args.iters}"]
    ours_cmd = [sys.executable, os.path.join(HERE, "train_step.py"),
                f"--policies={args.policies}", f"--iters={args.iters}"]
    load_before = os.getloadavg()
    studiogan_times, ours_times = [], {p: [] for p in args.policies.split(",")}
    machine = None
    for r, sides in enumerate(order(args.rounds)):
        for side in sides:
            if side == "studiogan":
                studiogan_times.append(run(studiogan_cmd)["s_per_iter"])
                print(f"round {r + 1}: StudioGAN float32 {studiogan_times[-1]:.3f} s/iter",
                      flush=True)
            else:
                result = run(ours_cmd)
                machine = machine_of(result)
                for policy in ours_times:
                    ours_times[policy].append(result[policy]["s_per_iter"])
                print(f"round {r + 1}: ours " + ", ".join(
                    f"{p} {t[-1]:.3f} s/iter" for p, t in ours_times.items()), flush=True)
    summary = summarize(studiogan_times, ours_times)
    summary["machine"] = machine
    summary["load_average_before"] = [round(v, 2) for v in load_before]
    summary["load_average_after"] = [round(v, 2) for v in os.getloadavg()]
    print(f"StudioGAN float32: {summary['studiogan_float32_s_per_iter']:.3f} s/iter "
          f"(median of {len(studiogan_times)} runs)")
    for policy in ours_times:
        s = summary[policy]
        target = f", target {s['target']}x: {'met' if s['met'] else 'NOT met'}" if s["target"] else ""
        print(f"ours {policy}: {s['s_per_iter']:.3f} s/iter, {s['speedup']:.2f}x StudioGAN"
              + target)
    print(f"on {machine['device']}, oneDNN {'on' if machine['onednn'] else 'off'}, "
          f"CPU features: {' '.join(machine['cpu_features']) or 'none listed'}")
    print(f"load average before {summary['load_average_before']}, after "
          f"{summary['load_average_after']}")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
