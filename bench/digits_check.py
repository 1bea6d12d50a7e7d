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

Prints one JSON line: the class accuracy of the generated digits, per class, and the
classifier's accuracy on the held-out real digits. Exit status 1 when the accuracy is
below `--min_accuracy` (default 0.95), so it can gate a script.
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


def fit_classifier():
    from sklearn.svm import SVC

    from sagan_tf.data.digits import digits_arrays

    images, labels = digits_arrays("train", resolution=8)
    return SVC(kernel="rbf", gamma=0.001, C=10.0).fit(to_digit_features(images), labels)


def generated_digits(model_dir, num, seed):
    from sagan_tf import noise
    from sagan_tf.run_dir import RunDir

    generator, config, checkpoint = RunDir(model_dir).load_generator(use_ema=True)
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
    args = parser.parse_args(argv)
    from sagan_tf.data.digits import digits_arrays

    classifier = fit_classifier()
    real, real_labels = digits_arrays("test", resolution=32)
    real_accuracy = float(np.mean(classifier.predict(to_digit_features(real)) == real_labels))
    images, labels, checkpoint = generated_digits(args.model_dir, args.num, args.seed)
    predicted = classifier.predict(to_digit_features(images))
    per_class = {int(c): round(float(np.mean(predicted[labels == c] == c)), 3)
                 for c in np.unique(labels)}
    accuracy = float(np.mean(predicted == labels))
    print(json.dumps({"class_accuracy": round(accuracy, 4), "per_class": per_class,
                      "num": args.num, "checkpoint": checkpoint,
                      "classifier_accuracy_on_real_test": round(real_accuracy, 4)}))
    return 0 if accuracy >= args.min_accuracy else 1


if __name__ == "__main__":
    sys.exit(main())
