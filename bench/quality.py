"""Attention vs no attention on digits, measured: the paper's claim at small scale.

    python bench/quality.py [--steps=3000] [--width=32] [--out=bench_runs/quality]

Trains the `sagan32` layout on scikit-learn's digits (10 classes, 32x32) twice with the
same seeds and steps: with self-attention at 16x16 in G and D, and without attention
(the SNGAN-projection baseline). Each run goes through the package's own programs
(`sagan-train`, `sagan-eval --classifier=domain`, `sagan-sample`), and one domain
classifier (trained once on the training split) measures both. Also reports the
real-vs-real floor: FID and KID between two random halves of all 1,797 digits through
the same classifier. Prints a Markdown table and writes `results.json` and the two
sample grids under `--out`.

`--width` overrides the block channels (G: width x 3 blocks, D: width x 4 blocks) so
that the runs fit in about 30 minutes on 2 CPU cores (width 32: about 0.27 s per
iteration at batch 64, 14 minutes per run); `--width=0` keeps the preset's full
widths (256 / 128 channels, about 5.7 s per iteration at batch 64 on 2 quiet cores).

Learning rates: D 4e-4 as TTUR, G 2e-4 rather than TTUR's 1e-4. The per-class
gains and biases of G's batch norms move about one learning rate per step, and at
1e-4 class conditioning showed only after about 1,000 steps (a pilot at width 64,
1,500 steps, G 1e-4 reached a class accuracy of 0.85). EMA of G's weights, decay
0.99 (not in the paper; sagan-train's default 0.999 averages over more steps than
these runs want).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

VARIANTS = (("attention@16", "16"), ("no attention", ""))


def _run(cmd):
    print("$", " ".join(cmd), flush=True)
    start = time.time()
    subprocess.run(cmd, check=True)
    return time.time() - start


def train_and_evaluate(name, attention, args, classifier_path):
    model_dir = os.path.join(args.out, "attention" if attention else "baseline")
    cmd = ["sagan-train", "--dataset=digits", "--preset=sagan32", f"--steps={args.steps}",
           f"--batch_size={args.batch_size}", f"--seed={args.seed}",
           f"--ema_decay={args.ema_decay}", f"--attention={attention}",
           f"--g_lr={args.g_lr}", f"--d_lr={args.d_lr}",
           f"--sample_every={args.steps}", f"--checkpoint_every={args.steps}",
           f"--mixed_precision={args.mixed_precision}", f"--model_dir={model_dir}"]
    if args.width:
        cmd += ["--g_channels=" + ",".join([str(args.width)] * 3),
                "--d_channels=" + ",".join([str(args.width)] * 4)]
    seconds = _run(cmd)
    _run(["sagan-eval", f"--model_dir={model_dir}", "--classifier=domain",
          f"--domain_classifier_path={classifier_path}", f"--num_samples={args.num_samples}",
          f"--seed={args.seed}", "--noprogress"])
    grid = os.path.join(args.out, ("attention" if attention else "baseline") + "_grid.png")
    _run(["sagan-sample", f"--model_dir={model_dir}", "--per_class=10",
          f"--seed={args.seed}", f"--output={grid}"])
    with open(os.path.join(model_dir, "eval.json")) as f:
        result = json.load(f)
    result.update(variant=name, train_seconds=round(seconds, 1), grid=grid)
    return result


def real_floor(classifier_path, seed):
    """FID / KID between two random halves of all digits, same domain classifier."""
    import numpy as np  # pylint: disable=import-outside-toplevel

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


def table(results, floor):
    def f(v, digits=3):
        return "-" if v is None else f"{v:.{digits}f}"

    rows = ["| run | FID | KID | intra-FID | Inception-style score | class accuracy | "
            "train time |", "|---|---|---|---|---|---|---|"]
    for r in results:
        rows.append(f"| {r['variant']} | {f(r['fid'], 2)} | {f(r['kid'], 4)} | "
                    f"{f(r['intra_fid'], 2)} | {f(r['inception_score'], 3)} | "
                    f"{f(r['class_accuracy'], 3)} | {r['train_seconds'] / 60:.1f} min |")
    rows.append(f"| real vs real (two halves) | {f(floor['fid'], 2)} | {f(floor['kid'], 4)} "
                "| | | | |")
    return "\n".join(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--ema_decay", type=float, default=0.99)
    parser.add_argument("--g_lr", type=float, default=2e-4, help="TTUR: 1e-4 (see above)")
    parser.add_argument("--d_lr", type=float, default=4e-4, help="TTUR: 4e-4")
    parser.add_argument("--num_samples", type=int, default=2000)
    parser.add_argument("--mixed_precision", default="float32")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="bench_runs/quality")
    parser.add_argument("--fresh", action="store_true", help="delete --out first")
    args = parser.parse_args()
    if args.fresh:
        shutil.rmtree(args.out, ignore_errors=True)
    os.makedirs(args.out, exist_ok=True)
    classifier_path = os.path.join(args.out, "domain_classifier.keras")
    results = [train_and_evaluate(name, att, args, classifier_path) for name, att in VARIANTS]
    floor = real_floor(classifier_path, args.seed)
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump({"args": vars(args), "runs": results, "real_floor": floor}, f, indent=2)
    print(table(results, floor))
    print(f"domain classifier test accuracy: {results[0].get('classifier_test_accuracy')}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
