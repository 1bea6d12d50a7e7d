"""The GAN as a `keras.Model`: `compile(g_optimizer, d_optimizer)`, then `fit(dataset)`."""

import keras
import tensorflow as tf

from sagan_tf import (compat, diff_augment, fit_label_checks, grad_accumulation, losses, noise,
                      sagan_compile, weight_ema)
from sagan_tf.layers.label_checks import check_positive_int
from sagan_tf.network_pair import check_network_pair


@keras.saving.register_keras_serializable(package="sagan_tf")
class SAGAN(keras.Model):
    """Trains a class-conditional generator and projection discriminator with hinge loss.

    Each `train_step` is one iteration of the paper's Algorithm: `d_steps_per_g_step`
    discriminator updates (SAGAN: 1), then one generator update, then the EMA of G's
    weights when enabled:

        L_D = E[relu(1 - D(x, y))] + E[relu(1 + D(G(z), y))]
        L_G = -E[D(G(z), y)]

    The fake images are conditioned on the labels of the real batch (so G sees the
    data's class frequencies). Unconditional networks (built with `num_classes=None`:
    G takes z alone, D images alone) train on L_D = E[relu(1 - D(x))] +
    E[relu(1 + D(G(z)))], L_G = -E[D(G(z))]; the labels of the data's `(images,
    labels)` pairs are then ignored. Noise z ~ N(0, I) is `sagan_tf.noise.latents` of
    (`seed`, `noise.training_stream(step, k)`), k = 0 for G's update and 1 + j for D's
    j-th, so a run resumed from a checkpoint draws the same z as an uninterrupted one;
    under a distribution strategy each replica takes its own slice of the global
    batch's noise, so N replicas see exactly what one device would.

    Under `tf.distribute` each replica's loss is summed over its examples and divided
    by the global batch: Keras' optimizer sums the replicas' gradients, which gives
    the gradient of the global-batch mean.

    Args:
        generator: model `[z, labels] -> images`, or `z -> images` (unconditional).
        discriminator: model `[images, labels] -> logits [N]`, built for the same
            number of classes as the generator, or `images -> logits [N]` when the
            generator is unconditional.
        latent_dim: size of z, a positive integer equal to the generator's z width
            (default: read from the generator's first input).
        ema_decay: decay of the exponential moving average of G's weights (None: no
            EMA). Not in the SAGAN paper; BigGAN-style. `sampling_generator()` and
            the export use the EMA weights (`ema_generator`) when present.
        ema_start_step: before this G step the EMA copies G's weights.
        ema_warmup: the decay warms up, min(ema_decay, (1 + t) / (10 + t)) at the t-th
            update (`weight_ema`); False: `ema_decay` from the first (BigGAN's form).
        mode_seeking: weight of MSGAN's mode-seeking term in G's loss (Mao et al. 2019;
            not in SAGAN; `losses.mode_seeking_loss`): the G step's second half of the
            batch repeats the first half's labels with other z, and G is pushed to draw
            them apart. 0 (the paper): none.
        seed: seed of the noise stream.
        diffaugment: DiffAugment policies (Zhao et al., 2020; not in SAGAN), a
            comma-separated string or names among `diff_augment.POLICIES`: every image
            D sees, real and generated, in D's and G's updates, goes through
            `diff_augment.DiffAugment`, drawn per example from
            `noise.augmentation_stream(step, k, fake)` (sliced per replica like z).
            Empty (default): D sees the images unchanged.
        cutout_inside: `DiffAugment`'s option: the cut-out square stays inside the
            image (default False: the authors' code).
    """

    def __init__(self, generator, discriminator, latent_dim=None, ema_decay=None,
                 ema_start_step=0, seed=0, diffaugment=(), cutout_inside=False,
                 ema_warmup=True, mode_seeking=0.0, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        #: Whether G and D take labels (False: unconditional networks).
        self.conditional = check_network_pair(generator, discriminator)
        z_width = generator.inputs[0].shape[-1]
        self.latent_dim = check_positive_int(z_width if latent_dim is None else latent_dim,
                                             "latent_dim")
        if z_width is not None and self.latent_dim != z_width:
            raise ValueError(f"`latent_dim` must be the generator's z width, {z_width}. "
                             f"Received: latent_dim={latent_dim}")
        if ema_decay is not None and not 0.0 <= ema_decay < 1.0:
            raise ValueError(f"`ema_decay` must be in [0, 1). Received: ema_decay={ema_decay}")
        self.ema_decay = ema_decay
        self.ema_start_step = int(ema_start_step)
        self.ema_warmup = bool(ema_warmup)
        if not 0.0 <= float(mode_seeking) < float("inf"):
            raise ValueError("`mode_seeking` must be a finite number >= 0. "
                             f"Received: mode_seeking={mode_seeking}")
        self.mode_seeking = float(mode_seeking)
        self.seed = int(seed)
        self.augment = diff_augment.DiffAugment(diffaugment, cutout_inside)
        # The EMA generator: a copy of G whose weights are the moving average.
        self.ema_generator = None
        if ema_decay is not None:
            self.ema_generator = keras.models.clone_model(generator)
            self.ema_generator.name = "ema_generator"
            self.ema_generator.set_weights(generator.get_weights())
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.d_real_tracker = keras.metrics.Mean(name="d_real")
        self.d_fake_tracker = keras.metrics.Mean(name="d_fake")
        self.d_grad_norm_tracker = keras.metrics.Mean(name="d_grad_norm")
        self.g_grad_norm_tracker = keras.metrics.Mean(name="g_grad_norm")
        self.built = True  # G and D are built models; nothing to infer from data.

    def compile(self, g_optimizer=None, d_optimizer=None, d_steps_per_g_step=1, grad_accum=1,
                **kwargs):
        """Sets the optimizers. Defaults are the paper's TTUR.

        Args:
            g_optimizer: default Adam(1e-4, beta_1=0, beta_2=0.9).
            d_optimizer: default Adam(4e-4, beta_1=0, beta_2=0.9).
            d_steps_per_g_step: D updates per G update, 1 to `noise.MAX_D_STEPS`
                (each has its own noise stream). Each consumes its own slice of the
                batch that `fit` delivers, so feed batches of
                `d_steps_per_g_step * batch_size`.
            grad_accum: K, micro-batches per update: each D and G update sums the
                gradients of K micro-batches and applies them once (see
                `sagan_tf.grad_accumulation`: batch-norm statistics are per
                micro-batch, as in BigGAN). Each D step's slice is then K micro-batches
                (feed `d_steps_per_g_step * grad_accum * batch_size`), and the z of
                each update is drawn for the whole accumulated batch and split like
                its data, so K micro-batches of B see the z of one batch of K * B.
            **kwargs: passed to `keras.Model.compile` (e.g. `jit_compile`,
                `steps_per_execution`).
        """
        if (isinstance(d_steps_per_g_step, bool) or not isinstance(d_steps_per_g_step, int)
                or not 1 <= d_steps_per_g_step <= noise.MAX_D_STEPS):
            raise ValueError("`d_steps_per_g_step` must be an integer in [1, "
                             f"{noise.MAX_D_STEPS}]. "
                             f"Received: d_steps_per_g_step={d_steps_per_g_step}")
        if isinstance(grad_accum, bool) or not isinstance(grad_accum, int) or grad_accum < 1:
            raise ValueError("`grad_accum` must be a positive integer. "
                             f"Received: grad_accum={grad_accum}")
        g_optimizer = g_optimizer or keras.optimizers.Adam(1e-4, beta_1=0.0, beta_2=0.9)
        d_optimizer = d_optimizer or keras.optimizers.Adam(4e-4, beta_1=0.0, beta_2=0.9)
        if keras.mixed_precision.global_policy().name == "mixed_float16":
            g_optimizer = _loss_scaled(g_optimizer)
            d_optimizer = _loss_scaled(d_optimizer)
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer
        self.d_steps_per_g_step = d_steps_per_g_step
        self.grad_accum = grad_accum
        # Keras' fit reads `model.optimizer` (step counters, callbacks): it is G's, so
        # `optimizer.iterations` counts training iterations.
        super().compile(optimizer=g_optimizer, **kwargs)
        self.g_optimizer.build(self.generator.trainable_variables)
        self.d_optimizer.build(self.discriminator.trainable_variables)

    def fit(self, x=None, y=None, *args, **kwargs):
        """`keras.Model.fit`, refusing float labels first (`fit_label_checks`)."""
        fit_label_checks.check_fit_labels(x, y)
        return super().fit(x, y, *args, **kwargs)

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker, self.d_real_tracker,
                self.d_fake_tracker, self.d_grad_norm_tracker, self.g_grad_norm_tracker]

    def call(self, inputs, training=False):
        """`[z, labels] -> images` (or `z -> images`) with the (non-EMA) generator."""
        return self.generator(inputs, training=training)

    def generate(self, z, labels, training=False, generator=None):
        """G(z, labels), or G(z) for an unconditional model (labels ignored)."""
        generator = generator or self.generator
        return generator([z, labels] if self.conditional else z, training=training)

    def discriminate(self, images, labels, training=False):
        """D(images, labels), or D(images) for an unconditional model (labels ignored)."""
        return self.discriminator([images, labels] if self.conditional else images,
                                  training=training)

    # -- the algorithm ---------------------------------------------------------------

    def train_step(self, data):
        real_images, labels = data
        real_chunks = tf.split(real_images, self.d_steps_per_g_step)
        label_chunks = tf.split(labels, self.d_steps_per_g_step)
        for k in range(self.d_steps_per_g_step):
            d_loss, d_real, d_fake = self._d_step(real_chunks[k], label_chunks[k], k)
        g_loss = self._g_step(label_chunks[-1])
        self._update_ema()
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        self.d_loss_tracker.update_state(d_loss * replicas)
        self.g_loss_tracker.update_state(g_loss * replicas)
        self.d_real_tracker.update_state(d_real)
        self.d_fake_tracker.update_state(d_fake)
        results = {m.name: m.result() for m in self.metrics}
        # Shape [1] under multi-worker training (keras-team/keras#20585).
        return compat.reducible_train_step_outputs(results, tf.distribute.get_strategy())

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        """Nothing to build: G, D and both optimizers are built by __init__ and compile.

        Overrides Keras' private hook `compat.SYMBOLIC_BUILD_HOOK`, whose own version
        stops `fit` under MultiWorkerMirroredStrategy; see `compat.skip_symbolic_build`.
        """
        compat.skip_symbolic_build(iterator, data_batch)

    def _d_step(self, real_images, labels, k):
        """One D update on L_D, its gradient summed over `grad_accum` micro-batches;
        returns (L_D share, mean D(x), mean D(G(z)))."""
        global_batch = self._global_batch(labels)
        micro_step = lambda m, x, y: self._d_gradients(x, y, k, m, global_batch)  # noqa: E731
        grads, (d_loss, d_real, d_fake) = grad_accumulation.accumulate(
            micro_step, [real_images, labels], self.grad_accum)
        self._apply(self.d_optimizer, self.discriminator, grads, self.d_grad_norm_tracker)
        return d_loss, d_real / self.grad_accum, d_fake / self.grad_accum

    def _d_gradients(self, real_images, labels, k, m, global_batch):
        """L_D's gradient on micro-batch m of D step k, and (L_D, mean D(x), mean D(G(z)))."""
        z = self.noise(labels, k=1 + k, micro=m)
        fake_images = self.generate(z, labels, training=True)
        with tf.GradientTape() as tape:
            real_logits = self.discriminate(
                self._augment(real_images, 1 + k, fake=False, micro=m), labels, training=True)
            fake_logits = self.discriminate(
                self._augment(fake_images, 1 + k, fake=True, micro=m), labels, training=True)
            d_loss = losses.discriminator_hinge_loss(real_logits, fake_logits, global_batch)
            scaled = self.d_optimizer.scale_loss(d_loss)
        grads = tape.gradient(scaled, self.discriminator.trainable_variables)
        return grads, (d_loss, tf.reduce_mean(real_logits), tf.reduce_mean(fake_logits))

    def _g_step(self, labels):
        """One G update on L_G, its gradient summed over `grad_accum` micro-batches;
        returns L_G's share on this replica."""
        global_batch = self._global_batch(labels)
        micro_step = lambda m, y: self._g_gradients(y, m, global_batch)  # noqa: E731
        grads, g_loss = grad_accumulation.accumulate(micro_step, [labels], self.grad_accum)
        self._apply(self.g_optimizer, self.generator, grads, self.g_grad_norm_tracker)
        return g_loss

    def _g_gradients(self, labels, m, global_batch):
        """L_G's gradient on micro-batch m, and L_G (+ mode_seeking * L_ms, its share)."""
        if self.mode_seeking:  # rows i and i + n // 2 of one class for L_ms
            labels = losses.paired_labels(labels)
        z = self.noise(labels, k=0, micro=m)
        with tf.GradientTape() as tape:
            fake_images = self.generate(z, labels, training=True)
            fake_logits = self.discriminate(
                self._augment(fake_images, 0, fake=True, micro=m), labels, training=True)
            g_loss = losses.generator_hinge_loss(fake_logits, global_batch)
            if self.mode_seeking:  # this replica's share, as a per-example term's
                share = tf.cast(tf.shape(labels)[0], "float32") / global_batch
                g_loss += self.mode_seeking * share * losses.mode_seeking_loss(fake_images, z)
            scaled = self.g_optimizer.scale_loss(g_loss)
        return tape.gradient(scaled, self.generator.trainable_variables), g_loss

    def _apply(self, optimizer, network, grads, norm_tracker):
        """Applies `grads` and tracks their norm (x replicas: the gradient norm of the
        mean loss over this replica's examples, one device's exactly), taken before the
        update may change the loss scale.

        An update that loss scaling skips (float16 gradients that overflowed) still
        counts in `optimizer.iterations`, which names the training iteration (its noise
        streams, its data, its checkpoint); Keras' LossScaleOptimizer would not count it.
        """
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        norm_tracker.update_state(grad_accumulation.global_norm(grads, optimizer) * replicas)
        step = tf.identity(optimizer.iterations)
        optimizer.apply_gradients(zip(grads, network.trainable_variables))
        if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
            optimizer.iterations.assign(step + 1)

    def ema_decay_at(self, step):
        """The EMA's decay after G step `step` (`weight_ema.decay_at`)."""
        return weight_ema.decay_at(step, self.ema_decay, self.ema_start_step, self.ema_warmup)

    def _update_ema(self):
        if self.ema_generator is not None:
            weight_ema.update(self.ema_generator, self.generator,
                              self.ema_decay_at(self.g_optimizer.iterations))

    # -- noise -----------------------------------------------------------------------

    def _global_batch(self, labels):
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        return tf.cast(tf.shape(labels)[0] * replicas, "float32")

    def noise(self, labels, k=0, micro=0):
        """z of update k (0: G, 1 + j: D's j-th) of this step, for this replica's slice
        of micro-batch `micro`: rows of `noise.latents(seed, grad_accum * global batch,
        latent_dim, stream=noise.training_stream(step, k))` (`noise.replica_rows`)."""
        local = tf.shape(labels)[0]
        stream = noise.training_stream(self.g_optimizer.iterations, k)
        z = noise.latents(self.seed, local * noise.rows_per_local_row(self.grad_accum),
                          self.latent_dim, stream=stream)
        return noise.replica_rows(z, local, micro)

    def _augment(self, images, k, fake, micro=0):
        """T(images) of update k (0: G, 1 + j: D's j-th), real or generated, for this
        replica's slice of the global batch (rows of `diff_augment.uniforms(seed, global
        batch, stream=noise.augmentation_stream(step, k, fake))`); `images` itself
        without DiffAugment."""
        if not self.augment:
            return images
        local = tf.shape(images)[0]
        stream = noise.augmentation_stream(self.g_optimizer.iterations, k, fake)
        u = diff_augment.uniforms(self.seed, stream,
                                  local * noise.rows_per_local_row(self.grad_accum))
        return self.augment(images, noise.replica_rows(u, local, micro))

    # -- sampling --------------------------------------------------------------------

    def sampling_generator(self):
        """The generator to sample from: the EMA generator when there is one, else G."""
        return self.ema_generator if self.ema_generator is not None else self.generator

    def get_config(self):
        return {**super().get_config(),
                "generator": keras.saving.serialize_keras_object(self.generator),
                "discriminator": keras.saving.serialize_keras_object(self.discriminator),
                "latent_dim": self.latent_dim, "ema_decay": self.ema_decay,
                "ema_start_step": self.ema_start_step, "ema_warmup": self.ema_warmup,
                "mode_seeking": self.mode_seeking,
                "seed": self.seed,
                "diffaugment": list(self.augment.policy),
                "cutout_inside": self.augment.cutout_inside}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["generator"] = keras.saving.deserialize_keras_object(config["generator"])
        config["discriminator"] = keras.saving.deserialize_keras_object(
            config["discriminator"])
        return cls(**config)

    def get_compile_config(self):
        """What `compile` was given, for `save()` (see `sagan_tf.sagan_compile`)."""
        return sagan_compile.compile_config(self, super().get_compile_config())

    def compile_from_config(self, config):
        """Compiles as `get_compile_config` recorded; `keras.models.load_model` then
        restores the optimizers' state, so the step count and noise streams continue."""
        self.compile(**sagan_compile.compile_arguments(config))


def _loss_scaled(optimizer):
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return optimizer
    return keras.optimizers.LossScaleOptimizer(optimizer)
