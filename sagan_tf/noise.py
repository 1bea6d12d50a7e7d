"""The latent vectors z that a seed stands for: the one seed-to-z formula of sagan_tf.

Every z in the package comes from `latents`: the training noise of every D and G
step, the sample grids written during training, `sagan-eval`'s generated images,
`sagan-sample` and the SavedModel's `generate` signature (where it runs inside the
graph). A seed therefore names the same latent vectors everywhere:

    u    = tf.random.stateless_uniform([N, latent_dim], seed=[seed, stream], dtype=float64)
    a    = Phi(-t)              (0 when there is no truncation, i.e. t = +inf)
    p    = a + (u + 2**-53) * (1 - 2a)
    z    = float32(clip(Phi^-1(p), -t, t))

with Phi the standard normal CDF and t the truncation. This is inverse-CDF
sampling: without truncation z ~ N(0, I); with t > 0 each z_i follows N(0, 1)
truncated to [-t, t], the same distribution as BigGAN's truncation trick (resample
every |z_i| > t), drawn without a loop. `2**-53` moves u off 0 so p is never 0 and
z is always finite (|z| < 8.3 without truncation). Because one uniform u drives
each z_i whatever t is, lowering t for a fixed seed pulls every z_i monotonically
towards 0: a truncation sweep shows the same sample with less variation.

Streams (the second word of the stateless seed) keep the uses apart where they must
be apart and together where a user expects them to be:

- `SAMPLES`, `EVALUATION` and `SERVING` are the same stream, 0, on purpose: the sample
  grid of a run with `--seed=s`, `sagan-eval --seed=s`, `sagan-sample --seed=s` and
  `generate(seed=s)` all see row i of `latents(s, N, latent_dim)` as their i-th z.
- `training_stream(step, k)` = 1 + 16 * step + k is the noise of training iteration
  `step` (G's update k = 0, D's updates k = 1 .. `MAX_D_STEPS`), keyed on the run's
  seed: never 0, so training noise never coincides with the z a user asks for, and a
  resumed run draws exactly what an uninterrupted one would.
- `augmentation_stream(step, k, fake)` = -(2 * training_stream(step, k) - fake) is the
  DiffAugment draw of update k's real (fake=0) or generated (fake=1) images: always
  negative, so it never meets the z streams (>= 0); resumed runs draw it again exactly.

- `STANDING_STATS` = training_stream(2**58, 0) = 2**62 + 1 is the z of the forward
  passes that `sagan_tf.standing_stats` averages G's batch statistics over: a
  training step no run reaches, so that z meets neither the images it is used for
  (stream 0) nor, in practice, training's.

`truncation` <= 0 (and NaN) mean no truncation. Row i of z depends only on
(seed, i): Philox, TF's stateless generator, fills the [N, latent_dim] tensor
from one counter stream in row-major order, so the first rows of a larger batch are
the rows of a smaller one. The transform runs in float64 and rounds once to
float32; a different device or math library may still differ in that last bit.
"""

import math

import tensorflow as tf

#: The stream of the sample grids written during training.
SAMPLES = 0
#: The stream of `sagan-eval` and `EvalCallback`.
EVALUATION = 0
#: The stream of `sagan-sample` and the SavedModel's `generate` signature.
SERVING = 0
#: The stream of the standing statistics' forward passes (`sagan_tf.standing_stats`).
STANDING_STATS = 2**62 + 1
#: Most D updates per G update: the streams of one training iteration are 16 apart.
MAX_D_STEPS = 15
_STREAMS_PER_STEP = MAX_D_STEPS + 1
_UNIFORM_OFFSET = 2.0 ** -53


def training_stream(step, k):
    """The stream of training iteration `step` (0-based), update k (0: G, 1+: D)."""
    return 1 + _STREAMS_PER_STEP * tf.cast(step, tf.int64) + k


def augmentation_stream(step, k, fake):
    """The DiffAugment stream of iteration `step`, update k, real (fake=False) or
    generated (fake=True) images: -2 * training_stream(step, k) + fake, <= -1."""
    return -2 * training_stream(step, k) + int(bool(fake))


def latents(seed, num, latent_dim, truncation=0.0, stream=SERVING):
    """Returns the latent vectors z [num, latent_dim] float32 for `seed`.

    Works eagerly and inside a `tf.function` (the SavedModel's `generate`).

    Args:
        seed: int (or int64 scalar tensor); any value in [-2**63, 2**63).
        num: number of rows (int or int32 scalar tensor).
        latent_dim: number of columns (the generator's z size).
        truncation: float; > 0 truncates every z_i to [-truncation, truncation],
            <= 0 means none (z ~ N(0, I)).
        stream: the second word of the stateless seed (int or int64 scalar tensor);
            see the module docstring.

    Returns:
        A float32 tensor [num, latent_dim].
    """
    seed = tf.cast(seed, tf.int64)
    truncation = tf.cast(truncation, tf.float64)
    u = tf.random.stateless_uniform(
        tf.stack([tf.cast(num, tf.int32), tf.cast(latent_dim, tf.int32)]),
        seed=tf.stack([seed, tf.cast(stream, tf.int64)]), dtype=tf.float64)
    # NaN > 0 is false: NaN means no truncation like 0 and negative values.
    t = tf.where(truncation > 0.0, truncation, tf.constant(math.inf, tf.float64))
    lower = 0.5 * tf.math.erfc(t / math.sqrt(2.0))  # Phi(-t); 0 for t = inf
    p = lower + (u + _UNIFORM_OFFSET) * (1.0 - 2.0 * lower)
    z = tf.clip_by_value(tf.math.ndtri(p), -t, t)
    return tf.cast(z, tf.float32)


def interpolate(z_start, z_end, steps):
    """Linear interpolation from `z_start` to `z_end` in `steps` points, ends included.

    Computed as (1 - w) * z_start + w * z_end with w = i / (steps - 1), so the first
    point is exactly `z_start` and the last exactly `z_end`.

    Args:
        z_start: float32 [latent_dim] (NumPy or tensor).
        z_end: float32 [latent_dim].
        steps: number of points (>= 2).

    Returns:
        A float32 tensor [steps, latent_dim].
    """
    if not isinstance(steps, int) or steps < 2:
        raise ValueError(f"`steps` must be an integer >= 2. Received: steps={steps}")
    z_start = tf.convert_to_tensor(z_start, tf.float32)
    z_end = tf.convert_to_tensor(z_end, tf.float32)
    w = tf.cast(tf.range(steps), tf.float32)[:, None] / float(steps - 1)
    return (1.0 - w) * z_start[None] + w * z_end[None]


def rows_per_local_row(grad_accum=1):
    """Rows of a draw for the whole accumulated global batch per row of one replica's
    micro-batch: replicas x grad_accum."""
    return tf.distribute.get_strategy().num_replicas_in_sync * grad_accum


def replica_rows(draw, local, micro=0):
    """This replica's `local` rows of micro-batch `micro` of a draw for the whole
    accumulated global batch: micro-batch m is rows [m B, (m + 1) B) (B: the global
    micro-batch), of which replica r takes the r-th share, as it takes its data."""
    ctx = tf.distribute.get_replica_context()
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    replica_id = ctx.replica_id_in_sync_group if ctx is not None else 0
    start = (micro * replicas + replica_id) * local
    return draw[start:start + local]
