"""Attention vs no attention on digits, over several seeds: the paper's claim at small scale.

    python bench/quality.py --seeds=5 [--preset=sagan32_small] [--out=bench_runs/quality]

Trains the README's first command (`sagan32_small` on scikit-learn's digits, 10 classes,
32x32, batch 32, 2,000 steps, the preset's learning rates, class affine, mode seeking and
EMA) with seeds 0..N-1 in two arms that differ only in self-attention: at 16x16 in G and
D (`--attention=16`), and none (`--attention=`, the SNGAN-projection baseline). Every run
goes through the package's own programs (`sagan-train`, `sagan-eval --classifier=domain`,
`sagan-sample`) and through `bench/digits_check.py` (a scikit-learn SVC on the real 8x8
digits, independent of the run and of the domain classifier: class accuracy, within-class
variety and coverage in its 8x8 space). One domain classifier, trained once on the
training split, measures all runs. The seeds run arm by arm in turn (attention 0, none 0,
attention 1, ...), so that a study cut short has as many seeds in each arm.
`--g_lr`, `--d_lr`, `--ema_decay` and `--width` override the preset's (the earlier study
ran `--preset=sagan32 --width=32 --g_lr=4e-4 --ema_decay=0.99`, before the EMA's decay
warmed up).

Reports per arm the mean and sample standard deviation of FID, KID, intra-FID, class
accuracy (domain classifier and SVC), the SVC space's variety and coverage, and the domain
classifier's precision, recall, density and coverage; for the difference in mean FID
(attention - none) Welch's t-test, the exact Mann-Whitney U test and a 95% bootstrap
interval (seeds resampled within each arm); and copies the grid of each arm's median-FID
seed. Writes `results.json` and `results.md` under `--out`. Finished runs are kept: an
interrupted study resumes where it stopped (same arguments; `--fresh` starts over).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np

ARMS = (("attention@16", "attention", "16"), ("no attention", "baseline", ""))
METRICS = ("fid", "kid", "intra_fid", "class_accuracy", "svc_accuracy", "svc_variety",
           "svc_coverage", "precision", "recall", "density", "coverage", "inception_score")
RUN_ARGS = ("preset", "steps", "width", "batch_size", "g_lr", "d_lr", "ema_decay",
            "num_samples", "mixed_precision")
#: Overrides passed to sagan-train only when given (None: the preset's).
OPTIONAL_FLAGS = ("g_lr", "d_lr", "ema_decay")
HERE = os.path.dirname(os.path.abspath(__file__))


def _run(cmd, stdout=None):
    print("$", " ".join(cmd), flush=True)
    start = time.time()
    done = subprocess.run(cmd, check=True, stdout=stdout, text=True)
    return time.time() - start, done.stdout


def train_command(arm, seed, args, model_dir):
    """The sagan-train command of one seed of one arm: the arms differ in `--attention`."""
    optional = [f"--{k}={getattr(args, k)}" for k in OPTIONAL_FLAGS
                if getattr(args, k) is not None]
    if args.width:
        optional += [f"--g_channels={','.join([str(args.width)] * 3)}",
                     f"--d_channels={','.join([str(args.width)] * 4)}"]
    return ["sagan-train", "--dataset=digits", f"--preset={args.preset}", f"--seed={seed}",
            f"--steps={args.steps}", f"--batch_size={args.batch_size}",
            f"--attention={arm[2]}", f"--sample_every={args.steps}",
            f"--checkpoint_every={args.steps}", f"--mixed_precision={args.mixed_precision}",
            f"--model_dir={model_dir}"] + optional


def train_and_evaluate(arm, seed, args, classifier_path):
    """One seed of one arm; returns its figures (cached in the run's `study.json`)."""
    name, short, _ = arm
    model_dir = os.path.join(args.out, short, f"seed{seed}")
    cached = os.path.join(model_dir, "study.json")
    if os.path.exists(cached):
        with open(cached) as f:
            return json.load(f)
    shutil.rmtree(model_dir, ignore_errors=True)  # a run cut short starts over
    seconds, _ = _run(train_command(arm, seed, args, model_dir))
    _run(["sagan-eval", f"--model_dir={model_dir}", "--classifier=domain",
          f"--domain_classifier_path={classifier_path}", f"--num_samples={args.num_samples}",
          f"--seed={seed}", "--noprogress"])
    _, check = _run([sys.executable, os.path.join(HERE, "digits_check.py"),
                     f"--model_dir={model_dir}", "--min_accuracy=0"], stdout=subprocess.PIPE)
    grid = os.path.join(model_dir, "classes.png")
    _run(["sagan-sample", f"--model_dir={model_dir}", "--per_class=10", f"--seed={seed}",
          f"--output={grid}"])
    with open(os.path.join(model_dir, "eval.json")) as f:
        result = json.load(f)
    svc = json.loads(check.strip().splitlines()[-1])
    result.update(arm=name, seed=seed, train_seconds=round(seconds, 1), grid=grid,
                  svc_accuracy=svc["class_accuracy"], svc_variety=svc["variety"],
                  svc_coverage=svc["coverage"], svc_per_class=svc["per_class"])
    with open(cached + ".tmp", "w") as f:
        json.dump(result, f, indent=2)
    os.replace(cached + ".tmp", cached)
    return result


def real_floor(classifier_path, seed):
    """FID / KID between two random halves of all digits, same domain classifier."""
    from sagan_tf import metrics  # pylint: disable=import-outside-toplevel
    from sagan_tf.data import digits_arrays  # pylint: disable=import-outside-toplevel

    images, _ = digits_arrays("all", resolution=32)
    order = np.random.RandomState(seed).permutation(len(images))
    half = len(images) // 2
    classifier, _ = metrics.load_or_train_domain_classifier(classifier_path)
    acts = [metrics.compute_activations(classifier, [images[idx]], progress=False)[1]
            for idx in (order[:half], order[half:2 * half])]
    kid, kid_std = metrics.kernel_distance(*acts)
    return {"fid": metrics.frechet_distance(*acts), "kid": kid, "kid_std": kid_std}


def arm_summary(runs):
    """Mean and sample standard deviation (ddof=1) of each metric over an arm's seeds."""
    summary = {}
    for key in METRICS:
        values = np.asarray([r[key] for r in runs if r.get(key) is not None], np.float64)
        if len(values):
            summary[key] = {"mean": float(values.mean()),
                            "std": float(values.std(ddof=1)) if len(values) > 1 else None,
                            "n": len(values)}
    return summary


def bootstrap_interval(a, b, resamples=10000, level=0.95, seed=0):
    """Percentile bootstrap interval of mean(a) - mean(b), seeds resampled within each arm."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    rng = np.random.default_rng(seed)
    diffs = (rng.choice(a, (resamples, len(a))).mean(axis=1)
             - rng.choice(b, (resamples, len(b))).mean(axis=1))
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(diffs, [tail, 100.0 - tail])
    return float(low), float(high)


def compare(a, b):
    """Difference of means with Welch's t-test, Mann-Whitney U and a bootstrap interval."""
    from scipy import stats  # pylint: disable=import-outside-toplevel

    welch = stats.ttest_ind(a, b, equal_var=False)
    mann_whitney = stats.mannwhitneyu(a, b, alternative="two-sided", method="exact")
    return {"difference": float(np.mean(a) - np.mean(b)),
            "welch_t": float(welch.statistic), "welch_p": float(welch.pvalue),
            "mann_whitney_u": float(mann_whitney.statistic),
            "mann_whitney_p": float(mann_whitney.pvalue),
            "bootstrap_95": bootstrap_interval(a, b)}


def median_run(runs, key="fid"):
    """The run whose `key` is the median (the lower middle one for an even count)."""
    ordered = sorted(runs, key=lambda r: r[key])
    return ordered[(len(ordered) - 1) // 2]


def table(summaries, floor):
    def cell(stat, digits):
        if stat is None:
            return "-"
        std = "" if stat["std"] is None else f" ± {stat['std']:.{digits}f}"
        return f"{stat['mean']:.{digits}f}{std}"

    columns = (("FID", "fid", 2), ("KID", "kid", 4), ("intra-FID", "intra_fid", 2),
               ("class acc. (domain)", "class_accuracy", 3),
               ("class acc. (SVC)", "svc_accuracy", 3), ("variety (SVC)", "svc_variety", 3),
               ("coverage (SVC)", "svc_coverage", 3), ("precision", "precision", 3),
               ("recall", "recall", 3), ("density", "density", 3),
               ("coverage", "coverage", 3))
    rows = ["| arm (mean ± std over seeds) | " + " | ".join(c[0] for c in columns) + " |",
            "|---|" + "---|" * len(columns)]
    for name, summary in summaries.items():
        rows.append(f"| {name} | " + " | ".join(cell(summary.get(k), d) for _, k, d in columns)
                    + " |")
    rows.append(f"| real vs real (two halves) | {floor['fid']:.2f} | {floor['kid']:.4f} |"
                + " |" * (len(columns) - 2))
    return "\n".join(rows)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 per arm")
    parser.add_argument("--preset", default="sagan32_small")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--width", type=int, default=0, help="0: the preset's widths")
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--g_lr", type=float, default=None, help="default: the preset's")
    parser.add_argument("--d_lr", type=float, default=None, help="default: the preset's")
    parser.add_argument("--ema_decay", type=float, default=None, help="default: sagan-train's")
    parser.add_argument("--num_samples", type=int, default=2000)
    parser.add_argument("--mixed_precision", default="float32")
    parser.add_argument("--out", default="bench_runs/quality")
    parser.add_argument("--fresh", action="store_true", help="delete --out first")
    args = parser.parse_args(argv)
    if args.seeds < 2:
        parser.error(f"`--seeds` must be at least 2 to compare arms. Received: --seeds={args.seeds}")
    return args


def main():
    args = parse_args()
    if args.fresh:
        shutil.rmtree(args.out, ignore_errors=True)
    os.makedirs(args.out, exist_ok=True)
    settings = {k: getattr(args, k) for k in RUN_ARGS}
    settings_path = os.path.join(args.out, "settings.json")
    if os.path.exists(settings_path):
        with open(settings_path) as f:
            kept = json.load(f)
        if kept != settings:
            sys.exit(f"{args.out} holds runs with other settings ({kept}); pass --fresh or "
                     "another --out.")
    with open(settings_path, "w") as f:
        json.dump(settings, f, indent=2)
    classifier_path = os.path.join(args.out, "domain_classifier.keras")
    runs = {arm[0]: [] for arm in ARMS}
    for seed in range(args.seeds):  # arm by arm in turn: a study cut short stays balanced
        for arm in ARMS:
            runs[arm[0]].append(train_and_evaluate(arm, seed, args, classifier_path))
    floor = real_floor(classifier_path, seed=0)
    summaries = {name: arm_summary(r) for name, r in runs.items()}
    (att, base) = ([r["fid"] for r in runs[arm[0]]] for arm in ARMS)
    comparison = compare(att, base)
    medians = {}
    for name, short, _ in ARMS:
        median = median_run(runs[name])
        medians[name] = {"seed": median["seed"], "fid": median["fid"],
                         "grid": os.path.join(args.out, f"{short}_median_grid.png")}
        shutil.copyfile(median["grid"], medians[name]["grid"])
    from sagan_tf import cpu  # pylint: disable=import-outside-toplevel

    machine = cpu.describe()  # the runs' kernels and CPU, beside their figures and minutes
    text = "\n".join([
        machine, "", table(summaries, floor), "",
        f"FID difference (attention - none): {comparison['difference']:+.3f}; "
        f"95% bootstrap interval [{comparison['bootstrap_95'][0]:+.3f}, "
        f"{comparison['bootstrap_95'][1]:+.3f}]; Welch t = {comparison['welch_t']:.2f}, "
        f"p = {comparison['welch_p']:.3f}; Mann-Whitney U = {comparison['mann_whitney_u']:.0f}, "
        f"p = {comparison['mann_whitney_p']:.3f}",
        "median-FID seeds: " + ", ".join(f"{n} seed {m['seed']} (FID {m['fid']:.2f})"
                                         for n, m in medians.items()),
        "train minutes per run: " + ", ".join(
            f"{n} {np.median([r['train_seconds'] for r in rs]) / 60:.1f} (median)"
            for n, rs in runs.items())])
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump({"settings": settings, "seeds": args.seeds, "cpu": machine, "runs": runs,
                   "summary": summaries, "fid_comparison": comparison, "median_seeds": medians,
                   "real_floor": floor}, f, indent=2)
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(text + "\n")
    print(text, flush=True)


if __name__ == "__main__":
    main()
