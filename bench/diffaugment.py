"""DiffAugment on a small dataset, measured: digits with 10% of the training split.

    python bench/diffaugment.py [--steps=800] [--width=32] [--seeds=0,1,2] \\
        [--out=bench_runs/diffaugment] [--docs=docs/diffaugment]

Trains the `sagan32` layout on 10% of the digits training split (143 images, 14 or 15
per class; `--train_fraction=0.1`) with 3 seeds without DiffAugment and 3 with
`--diffaugment=color,translation,cutout`, at the same steps and settings. Each run goes
through the package's own programs (`sagan-train`, `sagan-eval --classifier=domain`,
`sagan-sample`, run as `python -m` so no installed entry point is needed); one domain
classifier, trained once on the full training split, measures every run against the
held-out test split (359 images, the same for every run): FID, KID and class accuracy.
For scale, the same classifier also measures real images against the held-out split:
the 143 training images the runs saw, and the whole training split (`real_floor`).
The runs alternate between the arms (seed 0 without, seed 0 with, seed 1 ...) and
`results.json` is rewritten after each, so a study cut short stays balanced.

Prints a Markdown table (mean and standard deviation per arm over the seeds) and
writes `results.json` and each run's class grid (`none_seed<s>.png`,
`diffaugment_seed<s>.png`) under `--docs`.

Settings as `bench/quality.py` (G 2e-4, D 4e-4, EMA 0.99, width 32) except batch 32
(a tenth of the data is 143 images) and the step count, chosen for 2 shared CPU cores.
"""

import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

ARMS = (("none", ""), ("diffaugment", "color,translation,cutout"))
METRICS = ("fid", "kid", "class_accuracy")


def _run(cmd):
    print("$", " ".join(cmd), flush=True)
    start = time.time()
    subprocess.run([sys.executable, "-m"] + cmd, check=True)
    return time.time() - start


def _last_losses(model_dir, rows=100):
    """Means of D(x) and D(G(z)) over the last `rows` logged steps."""
    with open(os.path.join(model_dir, "losses.csv")) as f:
        last = list(csv.DictReader(f))[-rows:]
    return {key: statistics.fmean(float(r[key]) for r in last) for key in ("d_real", "d_fake")}


def train_and_evaluate(arm, policy, seed, args, classifier_path):
    name = f"{arm}_seed{seed}"
    model_dir = os.path.join(args.out, name)
    cmd = ["training.train", "--dataset=digits", f"--train_fraction={args.train_fraction}",
           "--preset=sagan32", f"--steps={args.steps}", f"--batch_size={args.batch_size}",
           f"--seed={seed}", f"--ema_decay={args.ema_decay}", f"--g_lr={args.g_lr}",
           f"--d_lr={args.d_lr}", f"--sample_every={args.steps}",
           f"--checkpoint_every={args.steps}", f"--diffaugment={policy}",
           "--g_channels=" + ",".join([str(args.width)] * 3),
           "--d_channels=" + ",".join([str(args.width)] * 4), f"--model_dir={model_dir}"]
    seconds = _run(cmd)
    _run(["training.evaluate", f"--model_dir={model_dir}", "--classifier=domain",
          f"--domain_classifier_path={classifier_path}", f"--num_samples={args.num_samples}",
          f"--seed={seed}", "--noprogress"])
    grid = os.path.join(args.docs, name + ".png")
    _run(["export.sample", f"--model_dir={model_dir}", "--per_class=10", f"--seed={seed}",
          f"--output={grid}"])
    with open(os.path.join(model_dir, "eval.json")) as f:
        result = json.load(f)
    result.update(arm=arm, diffaugment=policy, seed=seed, train_seconds=round(seconds, 1),
                  grid=grid, **_last_losses(model_dir))
    return result


def data_floor(classifier_path, train_fraction):
    """FID / KID of real images against the held-out split, same classifier: the
    training subset the runs saw, and the whole training split."""
    from sagan_tf import metrics  # pylint: disable=import-outside-toplevel
    from sagan_tf.data import digits_arrays  # pylint: disable=import-outside-toplevel

    classifier, _ = metrics.load_or_train_domain_classifier(classifier_path)
    test = metrics.compute_activations(classifier, [digits_arrays("test", 32)[0]],
                                       progress=False)[1]
    out = {}
    for name, fraction in (("train_subset", train_fraction), ("train_split", 1.0)):
        images = digits_arrays("train", 32, train_fraction=fraction)[0]
        acts = metrics.compute_activations(classifier, [images], progress=False)[1]
        kid, kid_std = metrics.kernel_distance(acts, test)
        out[name] = {"num_images": len(images), "fid": metrics.frechet_distance(acts, test),
                     "kid": kid, "kid_std": kid_std}
    return out


def summary(runs):
    out = {}
    for arm, _ in ARMS:
        mine = [r for r in runs if r["arm"] == arm]
        out[arm] = {"n": len(mine)}
        for m in METRICS:
            values = [r[m] for r in mine if r.get(m) is not None]
            out[arm][m] = {"mean": statistics.fmean(values) if values else None,
                           "std": statistics.stdev(values) if len(values) > 1 else None,
                           "values": values}
    return out


def table(stats):
    def f(s, digits):
        if s["mean"] is None:
            return "-"
        std = "" if s["std"] is None else f" ± {s['std']:.{digits}f}"
        return f"{s['mean']:.{digits}f}{std}"

    rows = ["| arm | runs | FID | KID | class accuracy |", "|---|---|---|---|---|"]
    for arm, policy in ARMS:
        s = stats[arm]
        label = f"DiffAugment ({policy})" if policy else "no augmentation"
        rows.append(f"| {label} | {s['n']} | {f(s['fid'], 2)} | {f(s['kid'], 4)} | "
                    f"{f(s['class_accuracy'], 3)} |")
    return "\n".join(rows)


def _write(args, stats, runs, floor, start, load_start):
    with open(os.path.join(args.docs, "results.json"), "w") as f:
        json.dump({"args": vars(args), "summary": stats, "runs": runs, "real_floor": floor,
                   "wall_seconds": round(time.time() - start, 1),
                   "load_average_at_start": load_start,
                   "load_average_now": os.getloadavg()}, f, indent=2)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=800)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--train_fraction", type=float, default=0.1)
    parser.add_argument("--ema_decay", type=float, default=0.99)
    parser.add_argument("--g_lr", type=float, default=2e-4)
    parser.add_argument("--d_lr", type=float, default=4e-4)
    parser.add_argument("--num_samples", type=int, default=1000)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--out", default="bench_runs/diffaugment")
    parser.add_argument("--docs", default="docs/diffaugment")
    parser.add_argument("--fresh", action="store_true", help="delete --out first")
    args = parser.parse_args()
    if args.fresh:
        shutil.rmtree(args.out, ignore_errors=True)
    os.makedirs(args.out, exist_ok=True)
    os.makedirs(args.docs, exist_ok=True)
    classifier_path = os.path.join(args.out, "domain_classifier.keras")
    start, load_start = time.time(), os.getloadavg()
    runs, floor = [], None
    for seed in [int(s) for s in args.seeds.split(",")]:
        for arm, policy in ARMS:
            runs.append(train_and_evaluate(arm, policy, seed, args, classifier_path))
            stats = summary(runs)
            _write(args, stats, runs, floor, start, load_start)
            print(table(stats), flush=True)
    floor = data_floor(classifier_path, args.train_fraction)
    _write(args, stats, runs, floor, start, load_start)
    print(f"real images against the held-out split: {floor}")
    print(f"wall time {(time.time() - start) / 60:.1f} min; domain classifier test "
          f"accuracy: {runs[0].get('classifier_test_accuracy')}")


if __name__ == "__main__":
    main()
