"""Fine-tuning: a new run that starts from the weights of another (`--init_from`).

`sagan-train --init_from=SOURCE` starts a new run (its own model_dir, step 0, fresh
optimizers) from the generator, discriminator and EMA generator of another run. SOURCE
is a run directory (its latest checkpoint) or a checkpoint prefix inside one
(`<run>/checkpoints/ckpt-N`, `<run>/best_fid/ckpt-N`); the source's config.json gives
its architecture, with which its networks are rebuilt and restored.

- `resolve(config)` (at start-up, once the data has set the classes): finds the
  checkpoint, refuses a class-conditional source for an unconditional run and the
  reverse, and records the checkpoint in `config.init_from_checkpoint` (config.json).
- `freeze_discriminator_blocks(discriminator, k)`: FreezeD (Mo et al. 2020), before
  the optimizers are built.
- `initialize(model, config)`: at step 0 of the new run, copies every weight of the
  source into it. The class tables (the conditional batch norms' gains and biases,
  D's class embedding) are copied when the class count is the same and otherwise keep
  their fresh initialisation (logged); any other weight that differs in name or shape
  is an architecture mismatch, refused naming the settings that differ. With
  `config.init_optimizers` the optimizers' moments are restored too, their step
  counters set back to 0.
"""

import os

import tensorflow as tf
from absl import logging

from sagan_tf import storage
from sagan_tf.layers import ConditionalBatchNorm, ProjectionHead, ResidualDownBlock
from sagan_tf.checkpoints import RESTORE_ERRORS, CheckpointError, check_checkpoint_kind
from sagan_tf.models import build_model
from sagan_tf.run_dir import RunDir
from sagan_tf.train_config import NETWORKS

_KINDS = {True: "class-conditional", False: "unconditional"}
_A_KIND = {True: "a class-conditional", False: "an unconditional"}


def find_source(init_from):
    """`(checkpoint prefix, source TrainConfig)` of `--init_from`: a run directory (its
    latest checkpoint) or a checkpoint prefix two levels inside one."""
    run = RunDir(init_from)
    if run.has_config():
        prefix = run.latest_checkpoint()
        if prefix is None:
            raise FileNotFoundError(
                f"`--init_from` names the run {init_from!r}, which has no checkpoint yet: "
                "let it save one (every --checkpoint_every steps and at the end), or pass "
                "a checkpoint prefix of another run.")
        return prefix, run.load_config()
    if storage.exists(f"{init_from}.index"):
        run = RunDir(os.path.dirname(os.path.dirname(os.fspath(init_from).rstrip("/"))))
        if run.has_config():
            return os.fspath(init_from), run.load_config()
        raise FileNotFoundError(
            f"`--init_from` names the checkpoint {init_from!r}, but {run.config_file} is "
            "missing: the source's config.json gives the architecture its networks are "
            "rebuilt with. Pass a checkpoint inside a sagan-train run directory "
            "(<run>/checkpoints/ckpt-N, <run>/best_fid/ckpt-N) or the run directory.")
    raise FileNotFoundError(
        "`--init_from` must be a sagan-train run directory (with config.json and "
        "checkpoints/) or a checkpoint prefix in one (<run>/checkpoints/ckpt-N). "
        f"Received: init_from={init_from!r}")


def resolve(config):
    """`config` with `init_from_checkpoint` set (a new fine-tuning run), after the
    checks that need no network; unchanged without `init_from` or once resolved (a
    resumed run keeps the checkpoint it started from)."""
    if not config.init_from or config.init_from_checkpoint:
        return config
    if _same_path(config.init_from, config.model_dir):
        raise ValueError(
            "`--init_from` names this run's own --model_dir: a fine-tuning run starts in "
            "a new directory. To continue the run, leave --init_from out. Received: "
            f"init_from={config.init_from!r}, model_dir={config.model_dir!r}")
    prefix, source = find_source(config.init_from)
    check_kind(source, config, config.init_from)
    check_checkpoint_kind(prefix, source.conditional)  # the checkpoint is its config's
    if config.init_optimizers and source.num_classes != config.num_classes:
        raise ValueError(
            "`--init_optimizers` restores the optimizers' moments, whose class-table "
            f"entries have the source's shape: the source has {source.num_classes} "
            f"classes and this run {config.num_classes}. Leave --init_optimizers out (fresh "
            "optimizers), or fine-tune on data with the source's classes.")
    logging.info("New run from %s (the run of %s), step 0.", prefix, config.init_from)
    return config.replace(init_from_checkpoint=prefix)


def check_kind(source, config, init_from):
    """Refuses a class-conditional source for an unconditional run and the reverse."""
    if source.conditional == config.conditional:
        return
    classes = f" ({source.num_classes} classes)" if source.conditional else ""
    fix = ("Start from an unconditional run, or train this one class-conditionally (data "
           "with classes, without --unconditional)." if source.conditional else
           "Start from a class-conditional run, or train this one with --unconditional.")
    raise ValueError(
        f"`--init_from={init_from}` is {_A_KIND[source.conditional]} run{classes} and "
        f"this run is {_KINDS[config.conditional]}: {_A_KIND[source.conditional]} "
        f"source cannot start {_A_KIND[config.conditional]} run (their networks differ "
        f"in their inputs and batch norms). {fix}")


def freeze_discriminator_blocks(discriminator, num_blocks):
    """FreezeD: D's first `num_blocks` residual blocks, and the attention layers between
    them, stop training (`trainable = False`; call it before the optimizers are built).
    Their spectral-norm u vectors still take their power-iteration step in training
    calls, as in StudioGAN's FreezeD: a better estimate of the same fixed sigma.

    Returns the names of the frozen layers."""
    blocks = [layer for layer in discriminator.layers if isinstance(layer, ResidualDownBlock)]
    if isinstance(num_blocks, bool) or not 0 <= num_blocks <= len(blocks):
        raise ValueError(f"`freeze_d_blocks` must be in [0, {len(blocks)}] (D has "
                         f"{len(blocks)} residual blocks). Received: "
                         f"freeze_d_blocks={num_blocks}")
    if not num_blocks:
        return []
    frozen, last = [], blocks[num_blocks - 1]
    for layer in discriminator.layers:
        if layer.weights:
            layer.trainable = False
            frozen.append(layer.name)
        if layer is last:
            break
    logging.info("FreezeD: D's %s do not train.", ", ".join(frozen))
    return frozen


def class_table_paths(network):
    """The paths of `network`'s class tables: the gains and biases of its conditional
    batch norms, and the class embedding of its projection head (with its u)."""
    paths = set()
    for layer in network._flatten_layers():  # pylint: disable=protected-access
        if isinstance(layer, ConditionalBatchNorm):
            paths |= {layer.gamma.path, layer.beta.path}
        elif isinstance(layer, ProjectionHead) and layer.embed is not None:
            paths |= {w.path for w in layer.embed.weights}
    return paths


def initialize(model, config):
    """Copies the weights of `config.init_from_checkpoint` into `model` (a new run at
    step 0); see the module docstring. Returns the paths of the class tables left at
    their initialisation (empty when the class count is the source's)."""
    prefix = config.init_from_checkpoint
    _, source_config = find_source(prefix)
    source = build_model(source_config)  # in this run's dtype policy: float32 weights
    networks = dict(generator=source.generator, discriminator=source.discriminator)
    if source.ema_generator is not None:
        networks["ema_generator"] = source.ema_generator
    try:
        tf.train.Checkpoint(**networks).restore(prefix).expect_partial(
        ).assert_existing_objects_matched()
    except RESTORE_ERRORS as e:
        raise CheckpointError(f"`--init_from` checkpoint {prefix} does not restore into "
                              f"the networks of its config ({type(e).__name__}: {e}).") from None
    pairs = [(source.generator, model.generator), (source.discriminator, model.discriminator)]
    if model.ema_generator is not None:  # the source's EMA, else its G
        source_ema = source.ema_generator
        pairs.append((source.generator if source_ema is None else source_ema,
                      model.ema_generator))
    plans = [_plan(src, dst) for src, dst in pairs]
    mismatched = [m for _, _, problems in plans for m in problems]
    if mismatched:
        raise ValueError(_mismatch_message(source_config, config, mismatched))
    kept = sorted({f"{dst_net.name}/{p}" for (_, fresh, _), (_, dst_net) in zip(plans, pairs)
                   for p in fresh})
    for copies, _, _ in plans:
        for src, dst in copies:
            dst.assign(src.value)
    if kept:
        logging.warning(
            "The source has %s classes and this run %s: the class tables start afresh "
            "(%s); every other weight is the source's.", source_config.num_classes,
            config.num_classes, ", ".join(kept))
    if config.init_optimizers:
        _restore_optimizers(model, prefix)
    logging.info("Started from the weights of %s (%s).", prefix,
                 "with its optimizers' moments" if config.init_optimizers
                 else "fresh optimizers")
    return kept


def _plan(source, target):
    """`(copies, fresh, problems)`: the (source, target) variable pairs to copy, the class
    tables that keep their initialisation, and the weights that do not match."""
    src = {v.path: v for v in source.weights}
    tables = class_table_paths(target) | class_table_paths(source)
    # Another class count: every class table starts afresh (the embedding's u too).
    other_classes = any(tuple(v.shape) != tuple(src[v.path].shape) for v in target.weights
                        if v.path in tables and v.path in src)
    copies, fresh, problems = [], [], []
    for path, var in ((v.path, v) for v in target.weights):
        have = src.get(path)
        if have is None:
            problems.append(f"{target.name} {path} is not in the source")
        elif path in tables and other_classes:
            fresh.append(path)
        elif tuple(have.shape) == tuple(var.shape):
            copies.append((have, var))
        else:
            problems.append(f"{target.name} {path}: source {tuple(have.shape)}, this run "
                            f"{tuple(var.shape)}")
    names = {v.path for v in target.weights}
    problems += [f"{target.name} {p} of the source is not in this run"
                 for p in src if p not in names]
    return copies, fresh, problems


def _mismatch_message(source, config, problems):
    settings = [("preset", source.preset, config.preset)]
    for network in NETWORKS.values():
        have, want = source.network_settings(network), config.network_settings(network)
        settings += [(f"{network} {k}", have.get(k), want.get(k))
                     for k in sorted(set(have) | set(want)) if have.get(k) != want.get(k)]
    differing = [f"{name}: source {a!r}, this run {b!r}" for name, a, b in settings if a != b]
    shown = "; ".join(problems[:5]) + (f"; ... ({len(problems)} in all)"
                                       if len(problems) > 5 else "")
    return (f"The architecture of this run differs from the one of `--init_from` "
            f"({config.init_from}): {'; '.join(differing) or 'no setting differs'}. Its "
            f"weights do not fit ({shown}). Pass the source's settings (its config.json: "
            "--preset, --g_*, --d_*), or train from scratch without --init_from.")


def _restore_optimizers(model, prefix):
    try:
        tf.train.Checkpoint(g_optimizer=model.g_optimizer, d_optimizer=model.d_optimizer
                            ).restore(prefix).expect_partial().assert_existing_objects_matched()
    except RESTORE_ERRORS as e:
        raise CheckpointError(
            f"`--init_optimizers`: the optimizers of {prefix} do not restore into this "
            f"run's ({type(e).__name__}: {e}). They must update the same weights (the same "
            "--freeze_d_blocks and --mixed_precision as the source). Leave "
            "--init_optimizers out for fresh optimizers.") from None
    for optimizer in (model.g_optimizer, model.d_optimizer):
        optimizer.iterations.assign(0)  # a new run: step 0, its own noise and data


def _same_path(a, b):
    return os.path.normpath(os.fspath(a)) == os.path.normpath(os.fspath(b))
