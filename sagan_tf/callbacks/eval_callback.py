"""EvalCallback: FID, KID and Inception Score during training, and the best-FID checkpoint.

Every `every_n_steps` generator steps (the G optimizer's `iterations`, read in
`on_train_batch_end`, so the schedule follows the run's step count across
resumes and does not depend on epochs or `steps_per_execution`), the callback
evaluates `model.sampling_generator()` (the EMA generator when the run keeps one)
with `sagan_tf.evaluation.evaluate_source`, the evaluation of `sagan-eval`, with the
same settings and defaults (`EvalSettings`; `num_samples` is the run's smaller
`--eval_num_samples`) and its noise (the same z at every evaluation, so the numbers of
two steps differ by the weights only), then, on the chief:

- writes the metrics as TensorBoard scalars under their protocol names
  (`sagan_tf.evaluation.protocols`: `eval/fid1k_test`, `eval/kid1k_test`, `eval/is1k`,
  and `eval/kid1k_test_std`, `eval/intra_fid1k_test`, `eval/class_accuracy1k`,
  `eval/precision1k_test`, ... when computed) at the step, in `log_dir`
  (default `<model_dir>/logs/eval`);
- appends one JSON object per evaluation to `<model_dir>/eval.jsonl`:
  `{"step", "time", "seconds", "best", "protocols", <metrics>...}`, each figure under
  its plain name (`fid`) and its protocol name (`fid1k_test`);
- when the FID is the lowest so far, saves `make_checkpoint(model)` (G, D, EMA G,
  both optimizers: the same layout as `checkpoints/`, so `load_generator(model_dir,
  checkpoint=...)` and `sagan-eval --checkpoint=...` read it) with a
  `tf.train.CheckpointManager` in `<model_dir>/best_fid/` keeping 1, numbered by the
  step, and writes `<model_dir>/best_fid/best_fid.json`:
  `{"step", "checkpoint", "fid", "metrics": {...}, "num_samples", "seed"}`.
  A resumed run starts from the best FID recorded there, so it only replaces
  the checkpoint with a better one (FIDs are comparable only with the same
  classifier, real data, `num_samples` and `seed`).

Only the chief evaluates and writes (`is_chief=False` makes the callback do
nothing): under `MultiWorkerMirroredStrategy` all of G's, D's and the optimizers'
variables are ON_WRITE mirrored variables, whose reads for generation and for the
checkpoint are local, so the other workers simply wait at the next step's
all-reduce while the chief evaluates (checked with two local workers: 8 steps,
4 chief-only best saves, no hang, the saved step restorable).

Construct the classifier before `keras.mixed_precision.set_global_policy` (or
load it from a `.keras` file trained in float32) and outside `strategy.scope()`.
A run resumed from an earlier checkpoint re-evaluates the steps it repeats:
`eval.jsonl` then holds those steps twice.
"""

import json
import math
import time

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from sagan_tf import evaluation, storage, summaries
from sagan_tf.checkpoints import make_checkpoint
from sagan_tf.run_dir import RunDir

BEST_FILE = "best_fid.json"
TAG_PREFIX = "eval/"


class EvalCallback(keras.callbacks.Callback):
    """Evaluates the sampling generator every N steps; keeps the best-FID checkpoint.

    Args:
        classifier: a `sagan_tf.metrics.Classifier` (`metrics.load_classifier`,
            `metrics.load_or_train_domain_classifier`).
        real_data: the real images: `(images, labels)` NumPy arrays (batched here),
            a re-iterable of `(images, labels)` batches (a `tf.data.Dataset` that is
            finite: the first `num_samples` images are used), or a callable returning
            a fresh iterable of batches at each evaluation.
        num_classes: number of classes of the data (None: an unconditional model).
        model_dir: the run's directory; `eval.jsonl` and `best_fid/` go there.
        every_n_steps: evaluate after each step divisible by this (when several
            steps run per `on_train_batch_end` call, after the call that passes a
            multiple).
        num_samples: fake (and at most real) images per evaluation.
        batch_size: images per generator call (default: `EvalSettings`').
        seed: seed of the noise, the fake labels and the real activations' shuffle
            (default: `EvalSettings`').
        log_dir: TensorBoard directory (default `<model_dir>/logs/eval`).
        is_chief: whether this process evaluates and writes; pass
            `training.strategy.is_chief(strategy)`.
        compute_intra_fid: also compute intra-FID (default: `EvalSettings`'; slow for
            many classes).
        evaluate_at_end: also evaluate in `on_train_end` if the last step was not
            evaluated.
        verbose: print one line per evaluation.
        evaluate_fn: replaces `sagan_tf.evaluation.evaluate` (same arguments); for
            tests.
        real_split: the split `real_data` comes from, for the protocol names
            (default "real").
        reference: reference statistics (a `ReferenceStats` or the path of a
            `sagan-fid-stats` file) used instead of `real_data` (then None); checked
            against the classifier and the generator's resolution at the first
            evaluation.
    """

    def __init__(self, classifier, real_data, num_classes, model_dir, every_n_steps=1000,
                 num_samples=1000, batch_size=None, seed=None, log_dir=None, is_chief=True,
                 compute_intra_fid=None, evaluate_at_end=False, verbose=1,
                 evaluate_fn=None, real_split=None, reference=None):
        super().__init__()
        if not isinstance(every_n_steps, int) or every_n_steps < 1:
            raise ValueError("`every_n_steps` must be a positive integer. "
                             f"Received: every_n_steps={every_n_steps}")
        if isinstance(reference, str):
            reference = evaluation.load_reference_stats(reference)
        if reference is not None:
            real_split = reference.split or "ref"
        elif hasattr(real_data, "__next__"):
            raise ValueError("`real_data` must be re-iterable (arrays, a list of batches, "
                             "a tf.data.Dataset or a callable returning batches), not an "
                             "iterator that the first evaluation would exhaust.")
        given = dict(num_samples=num_samples, batch_size=batch_size, seed=seed,
                     intra_fid=compute_intra_fid)
        self.settings = evaluation.EvalSettings(progress=False, **{
            name: value for name, value in given.items() if value is not None})
        self.classifier = classifier
        self.real_data = real_data
        self.reference = reference
        self.real_split = real_split
        self.num_classes = None if num_classes is None else int(num_classes)  # None: unconditional
        self.model_dir = model_dir
        self.every_n_steps = every_n_steps
        self.num_samples = self.settings.num_samples
        self.batch_size = self.settings.batch_size
        self.seed = self.settings.seed
        run_dir = RunDir(model_dir)
        self.log_dir = log_dir or run_dir.eval_logs
        self.is_chief = bool(is_chief)
        self.evaluate_at_end = evaluate_at_end
        self.verbose = verbose
        self.evaluate_fn = evaluate_fn
        self.best_dir = run_dir.best_fid
        self.jsonl_path = run_dir.eval_log
        self.best_fid = math.inf
        self.best_step = None
        self.history = []  # (step, metrics) of this process's evaluations.
        self._last_step = None
        self._writer = None
        self._manager = None
        self._sources = {}

    # -- Keras hooks ----------------------------------------------------------------

    def on_train_begin(self, logs=None):
        if not self.is_chief:
            return
        self._last_step = self._step()
        best = read_best(self.model_dir)
        if best is not None and best.get("fid") is not None:
            self.best_fid, self.best_step = float(best["fid"]), best.get("step")

    def on_train_batch_end(self, batch, logs=None):
        if not self.is_chief:
            return
        step = self._step()
        if self._last_step is None:
            self._last_step = step - 1
        if step // self.every_n_steps > self._last_step // self.every_n_steps:
            self.evaluate(step)
        self._last_step = step

    def on_train_end(self, logs=None):
        if not self.is_chief:
            return
        step = self._step()
        if self.evaluate_at_end and (not self.history or self.history[-1][0] != step):
            self.evaluate(step)
        if self._writer is not None:
            self._writer.flush()

    # -- the work -------------------------------------------------------------------

    def evaluate(self, step):
        """Evaluates the model now, logs as of `step`; returns the metrics dict."""
        start = time.time()
        generator = self.model.sampling_generator()
        source = self._sources.get(id(generator))
        if source is None:
            source = self._sources[id(generator)] = evaluation.from_keras(generator)
            if self.reference is not None:
                evaluation.check_reference(self.reference, self.classifier,
                                           source.resolution)
        real = None if self.reference is not None else self._real_batches()
        results = evaluation.evaluate_source(source, real, self.classifier,
                                             self.settings, self.num_classes,
                                             evaluate_fn=self.evaluate_fn,
                                             reference=self.reference)
        results = evaluation.with_protocols(results, self.num_samples, self.real_split)
        seconds = time.time() - start
        self.history.append((step, dict(results)))
        fid = results.get("fid")
        best = fid is not None and math.isfinite(fid) and fid < self.best_fid
        self._write_summaries(step, results)
        self._append_jsonl(dict(step=int(step), time=time.time(), seconds=seconds,
                                best=bool(best), **results))
        if best:
            self._save_best(step, results)
        if self.verbose:
            names = results["protocols"]
            text = ", ".join(f"{names[row.key]} {results[row.key]:.4g}"
                             for row in evaluation.METRICS
                             if row.shown and results.get(row.key) is not None)
            print(f"\nStep {step}: {text} ({seconds:.1f} s)"
                  + (" - best FID so far, saved" if best else ""))
        return results

    def _step(self):
        return int(self.model.g_optimizer.iterations.numpy())

    def _real_batches(self):
        data = self.real_data
        if callable(data):
            return data()
        if isinstance(data, tuple) and len(data) == 2 and isinstance(data[0], np.ndarray):
            images, labels = data
            return [(images[i:i + self.batch_size], labels[i:i + self.batch_size])
                    for i in range(0, min(len(images), self.num_samples), self.batch_size)]
        return data

    def _write_summaries(self, step, results):
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(self.log_dir)
        with self._writer.as_default(step=int(step)):
            for metric, name in results["protocols"].items():
                value = results[metric]
                if isinstance(value, (int, float)):
                    summaries.scalar(TAG_PREFIX + name, float(value))
        self._writer.flush()

    def _append_jsonl(self, record):
        line = json.dumps(record, sort_keys=True) + "\n"
        old = storage.read_text(self.jsonl_path) if storage.exists(self.jsonl_path) else ""
        storage.write_atomically(self.jsonl_path, old + line)  # no append on object stores

    def _save_best(self, step, results):
        if self._manager is None:
            self._manager = tf.train.CheckpointManager(make_checkpoint(self.model),
                                                       self.best_dir, max_to_keep=1)
        path = self._manager.save(checkpoint_number=int(step))
        self.best_fid, self.best_step = float(results["fid"]), int(step)
        storage.write_json(
            storage.join(self.best_dir, BEST_FILE),
            dict(step=int(step), checkpoint=path, fid=float(results["fid"]),
                 metrics=results, num_samples=self.num_samples, seed=self.seed))
        logging.info("Step %d: best FID %.4f so far, saved %s", step, self.best_fid, path)


def read_best(model_dir):
    """The contents of `<model_dir>/best_fid/best_fid.json`, or None."""
    path = storage.join(RunDir(model_dir).best_fid, BEST_FILE)
    return storage.read_json(path) if storage.exists(path) else None
