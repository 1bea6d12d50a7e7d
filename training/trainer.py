"""Builds or restores the SAGAN model of a run and trains it with `fit` and callbacks."""

import keras
import tensorflow as tf
from absl import logging

from sagan_tf import callbacks as cb
from sagan_tf import cpu, evaluation, init_from, summaries
from sagan_tf.checkpoints import CheckpointWriter
from sagan_tf.divergence import DivergenceError
from sagan_tf.models import build_model, compile_model
from sagan_tf.run_dir import RunDir
from training import pipeline
from training import strategy as strategy_lib


def build(config, strategy):
    """The compiled SAGAN model of `config`, in the strategy's scope, under the config's
    Keras dtype policy, initialised from `config.seed`."""
    keras.mixed_precision.set_global_policy(config.mixed_precision)
    cpu.warn_if_emulated_bf16(config.mixed_precision)  # bf16 without bf16 hardware
    keras.utils.set_random_seed(config.seed)  # the initial weights
    with strategy.scope():
        model = build_model(config)
        init_from.freeze_discriminator_blocks(model.discriminator, config.freeze_d_blocks)
        compile_model(model, config)
    return model


def fit(config, strategy, dataset, model, evaluations=None):
    """Trains up to `config.steps`, resuming from the model_dir's latest checkpoint.

    Args:
        config: the run's `TrainConfig`, with `num_classes` set (see `pipeline.load`).
        strategy: the `tf.distribute.Strategy` (see `strategy.create`).
        dataset: the global batches from `pipeline.load`, from the first one: the
            batches of the steps already trained are skipped here.
        model: the model from `build`.
        evaluations: the chief's `EvalCallback` (see `eval_callback`; made here when
            `config.eval_every` asks for one and none is given).

    Returns:
        `(step, signal)`: the step reached, and the signal number that stopped training
        early (None when it ran to `config.steps`).
    """
    chief = strategy_lib.is_chief(strategy)
    checkpoints = CheckpointWriter(model, config.model_dir, config.keep_checkpoints, chief)
    start = checkpoints.restore_latest()
    if not start and config.init_from_checkpoint:  # a new fine-tuning run
        init_from.initialize(model, config)
    _set_learning_rates(model, config)  # the checkpoint restored the saved ones
    logging.info("%s; %s.", strategy_lib.describe(strategy),
                 f"resumed at step {start}" if start else "new run")
    if start >= config.steps:  # the saved config (and its --steps) stays as it is
        logging.info("The run is at step %d of --steps=%d: nothing to train. Pass a larger "
                     "--steps to continue it.", start, config.steps)
        return start, None
    if chief:
        RunDir(config.model_dir).save_config(config)

    dataset = pipeline.resume(dataset, start)
    # Each D step's slice is grad_accum micro-batches: reorder per micro-batch.
    dataset = pipeline.order_for_replicas(dataset, config.d_steps * config.grad_accum,
                                          strategy.num_replicas_in_sync)
    saver = cb.PeriodicCheckpoint(checkpoints, config.checkpoint_every)
    stopper = cb.StopOnSignal()
    # The guard right after the step: no other callback sees a diverged one.
    callbacks = [cb.PerStepMetrics(), cb.DivergenceGuard(checkpoints)]
    if chief:
        callbacks += [cb.ProgressBar()] + _chief_callbacks(config, start)
        if evaluations is None and config.eval_every:
            evaluations = eval_callback(config)
        callbacks += [evaluations] if evaluations is not None else []
    callbacks += [saver, stopper]  # the stopper last: it restores the handlers after the save
    logging.info("Training steps %d to %d (global batch %d x %d D steps x %d accumulated "
                 "micro-batches).", start + 1, config.steps, config.batch_size,
                 config.d_steps, config.grad_accum)
    try:
        model.fit(dataset, epochs=1, steps_per_epoch=config.steps - start, shuffle=False,
                  callbacks=callbacks, verbose=1 if chief else 0)
    except KeyboardInterrupt:
        stopper.hold()
        saver.save_if_needed()  # a step either ran whole or not at all
        stopper.restore()
        raise
    except DivergenceError as e:  # nothing is saved: the state is not finite
        stopper.restore()
        logging.error("%s", e)
        raise
    return checkpoints.step, stopper.received


def _set_learning_rates(model, config):
    """The config's learning rates, which may change when a run resumes (after a
    divergence, say): a checkpoint holds the optimizers' own."""
    model.g_optimizer.learning_rate = config.g_lr
    model.d_optimizer.learning_rate = config.d_lr


def _chief_callbacks(config, start):
    """The callbacks that write files: the chief's only."""
    run_dir = RunDir(config.model_dir)
    writer = tf.summary.create_file_writer(run_dir.train_logs)  # TensorBoard's run "train"
    with writer.as_default(step=start):
        summaries.text("config", f"```\n{config.to_json()}\n```")
    samples_dir = run_dir.samples
    return [
        cb.LossCSVLogger(run_dir.losses, start_step=start),
        cb.ScalarSummaries(writer, config.log_every),
        cb.SampleGrid(writer, samples_dir, config.sample_every, config.num_classes,
                      seed=config.seed),
        cb.AttentionMaps(writer, config.sample_every, config.num_classes, seed=config.seed,
                         samples_dir=samples_dir),
    ]


def eval_callback(config):
    """EvalCallback every `config.eval_every` steps; its classifier is built in float32.

    Made before the networks and the first step, so that a classifier that cannot be
    had stops the program at start-up, not after training a while.
    """
    if config.eval_classifier == evaluation.DOMAIN and not config.conditional:
        raise evaluation.EvalError(
            "`--eval_classifier=domain` trains a classifier on the data's classes, and this "
            f"run's data ({config.dataset!r}) has none: it is unconditional. Pass "
            "--eval_classifier=inception or the path of a classifier (.keras or SavedModel), "
            "or evaluate afterwards with sagan-eval --classifier=domain on a labelled "
            "--dataset.")
    policy = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("float32")
    try:
        read = evaluation.real_data.read_as(config)  # real images as the run saw them
        classifier, _ = evaluation.load_eval_classifier(
            config.eval_classifier, dataset=config.dataset, data_dir=config.data_dir,
            resolution=config.resolution, num_classes=config.num_classes,
            domain_classifier_path=RunDir(config.model_dir).domain_classifier, **read)
        settings = evaluation.EvalSettings(num_samples=config.eval_num_samples)
        reference, real = None, None
        if config.eval_reference:  # checked now, not after training a while
            reference = evaluation.load_reference_stats(config.eval_reference)
            evaluation.check_reference(reference, classifier, config.resolution)
        else:
            real = evaluation.real_batches(config.dataset, config.resolution,
                                           settings.batch_size, data_dir=config.data_dir,
                                           **read)
    finally:
        keras.mixed_precision.set_global_policy(policy)
    return cb.EvalCallback(classifier, real, config.num_classes, config.model_dir,
                        every_n_steps=config.eval_every, num_samples=settings.num_samples,
                        is_chief=True, reference=reference,
                        real_split=evaluation.default_real_split(config.dataset))
