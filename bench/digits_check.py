"""Does each row of a digits run's grid show its own digit? An independent check.

    python bench/digits_check.py --model_dir=runs/digits [--num=1000] [--seed=0]

Generates `--num` digits from the run's (EMA) generator, an equal number per class
(class c for the c-th tenth), and classifies them with a classifier that has nothing
to do with the run or with `sagan-eval`'s domain classifier: scikit-learn's support
vector classifier (RBF kernel, gamma=0.001, C=10) fitted on the 8x8 training split of
scikit-learn's digits. Generated 32x32 RGB images are brought back to that form: mean
of the three channels, 4x4 area average to 8x8, [-1, 1] -> [0, 16]. The same round trip
of the held-out real digits (upscaled as the data pipeline does, then back down)
measures the classifier itself, printed beside the result.

Beside accuracy, two figures say whether each row is many digits or one, both in the
same 8x8 space and per class c against the held-out real digits of class c, then
averaged over the classes:

- within-class variety: the mean pairwise Euclidean distance between the generated
  digits of class c divided by that between the held-out real digits of class c
  (1: as varied as real digits; 0: one image per class);
- coverage (Naeem et al. 2020, k = 5): the fraction of held-out real digits of class c
  whose ball to their 5th nearest real neighbour holds a generated digit of class c.

The same two figures for the real training digits against the held-out ones (the
other half of scikit-learn's digits) are printed beside them: what real digits score.

Prints one JSON line: the class accuracy of the generated digits, per class, the
variety and coverage, and the classifier's accuracy on the held-out real digits. Exit
status 1 when the accuracy is below `--min_accuracy` (default 0.95), the variety below
`--min_variety` or the coverage below `--min_coverage` (both default 0: not checked),
so it can gate a script.
"""

import argparse
import json
import sys

import numpy as np


def to_digit_features(images):
    """[N, H, W, 3] in [-1, 1] with H, W multiples of 8 -> [N, 64] in [0, 16]."""
    images = np.asarray(images, np.float64)
    n, h, w, _ = images.shape
    gray = images.mean(axis=-1)
    blocks = gray.reshape(n, 8, h // 8, 8, w // 8).mean(axis=(2, 4))
    return ((np.clip(blocks, -1.0, 1.0) + 1.0) * 8.0).reshape(n, 64)


def mean_pairwise_distance(features):
    """Mean Euclidean distance over the pairs i < j of the rows of `features` [N, D]."""
    features = np.asarray(features, np.float64)
    if len(features) < 2:
        raise ValueError("Variety needs at least 2 digits per class. "
                         f"Received: {len(features)}")
    squared = (features ** 2).sum(axis=1)
    d2 = squared[:, None] + squared[None, :] - 2.0 * features @ features.T
    upper = np.triu_indices(len(features), k=1)
    return float(np.sqrt(np.maximum(d2[upper], 0.0)).mean())


def variety_and_coverage(features, labels, real_features, real_labels, k=5):
    """Within-class variety and coverage of `features` (labels: their classes) against
    `real_features`, per class of `real_labels`, averaged over the classes; see the
    module docstring. Returns (variety, coverage, {class: (variety, coverage)})."""
    from sagan_tf.metrics.density_coverage import density_coverage

    per_class = {}
    for c in np.unique(real_labels):
        real_c, fake_c = real_features[real_labels == c], features[labels == c]
        variety = mean_pairwise_distance(fake_c) / mean_pairwise_distance(real_c)
        _, coverage = density_coverage(real_c, fake_c, k=k)
        per_class[int(c)] = (variety, coverage)
    values = np.array(list(per_class.values()))
    return float(values[:, 0].mean()), float(values[:, 1].mean()), per_class


def fit_classifier():
    from sklearn.svm import SVC

    from sagan_tf.data.digits import digits_arrays

    images, labels = digits_arrays("train", resolution=8)
    return SVC(kernel="rbf", gamma=0.001, C=10.0).fit(to_digit_features(images), labels)


def generated_digits(model_dir, num, seed, use_ema=True, checkpoint=None, standing_stats=0):
    from sagan_tf import noise
    from sagan_tf.run_dir import RunDir

    generator, config, checkpoint = RunDir(model_dir).load_generator(
        use_ema=use_ema, checkpoint=checkpoint, standing_stats=standing_stats)
    if not config.num_classes:
        raise SystemExit(f"{model_dir} is an unconditional run: there is no requested "
                         "class to check.")
    labels = (np.arange(num) * config.num_classes // num).astype(np.int32)
    z = noise.latents(seed, num, int(generator.inputs[0].shape[-1])).numpy()
    images = np.concatenate([
        np.asarray(generator([z[i:i + 100], labels[i:i + 100]], training=False))
        for i in range(0, num, 100)])
    return images, labels, checkpoint


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model_dir", required=True)
    parser.add_argument("--num", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min_accuracy", type=float, default=0.95)
    parser.add_argument("--min_variety", type=float, default=0.0)
    parser.add_argument("--min_coverage", type=float, default=0.0)
    parser.add_argument("--no_ema", action="store_true",
                        help="Check G itself instead of its EMA (for studies).")
    parser.add_argument("--checkpoint", default=None,
                        help="A checkpoint prefix of the run (default: the latest).")
    parser.add_argument("--standing_stats", type=int, default=0,
                        help="N > 0: G's batch-norm statistics from N batches of noise.")
    args = parser.parse_args(argv)
    from sagan_tf.data.digits import digits_arrays

    classifier = fit_classifier()
    real, real_labels = digits_arrays("test", resolution=32)
    real = to_digit_features(real)
    real_accuracy = float(np.mean(classifier.predict(real) == real_labels))
    train, train_labels = digits_arrays("train", resolution=32)
    real_variety, real_coverage, _ = variety_and_coverage(
        to_digit_features(train), train_labels, real, real_labels)
    images, labels, checkpoint = generated_digits(
        args.model_dir, args.num, args.seed, use_ema=not args.no_ema,
        checkpoint=args.checkpoint, standing_stats=args.standing_stats)
    features = to_digit_features(images)
    predicted = classifier.predict(features)
    per_class = {int(c): round(float(np.mean(predicted[labels == c] == c)), 3)
                 for c in np.unique(labels)}
    accuracy = float(np.mean(predicted == labels))
    variety, coverage, per_class_vc = variety_and_coverage(features, labels, real,
                                                           real_labels)
    print(json.dumps({
        "class_accuracy": round(accuracy, 4), "variety": round(variety, 3),
        "coverage": round(coverage, 3), "per_class": per_class,
        "per_class_variety": {c: round(v, 2) for c, (v, _) in per_class_vc.items()},
        "per_class_coverage": {c: round(v, 2) for c, (_, v) in per_class_vc.items()},
        "real_train_vs_test": {"variety": round(real_variety, 3),
                               "coverage": round(real_coverage, 3)},
        "num": args.num, "checkpoint": checkpoint,
        "classifier_accuracy_on_real_test": round(real_accuracy, 4)}))
    passed = (accuracy >= args.min_accuracy and variety >= args.min_variety
              and coverage >= args.min_coverage)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
