"""The `tf.Module` that holds the generator and defines the SavedModel's signatures.

Two signatures, both returning `images` (uint8 [N, H, W, C]; C = 3 unless the model
draws another `image_channels`) and `images_float` (float32 in [-1, 1], the
generator's tanh output):

- `serving_default(z, labels)`: z float32 [N, latent_dim], labels int32 [N].
- `generate(labels, seed, truncation)`: labels int32 [N], seed int64 scalar,
  truncation float32 scalar (default 0: none). z is drawn inside the graph with
  `sagan_tf.noise.latents(seed, N, latent_dim, truncation)`, a stateless formula, so a
  seed always gives the same images; row i of z depends only on (seed, i).

An unconditional generator (`z -> images`) has no labels input: `serving_default(z)`,
and `generate(seed, truncation, num_images)` with num_images int32 scalar (default 1),
the N that the labels give a conditional model.

`images` = uint8(clip(round((images_float + 1) * 127.5), 0, 255)) in float32, round
half to even, as `sagan_tf.grid.to_uint8`.

The inputs are checked inside the graph (so the checks run under TF Serving too,
not only in Python): labels in [0, num_classes), at least one and at most
`max_batch_size`, z with latent_dim columns and as many rows as labels. The
functions take z as [-1, -1] on purpose: with a static width a wrong-width z would be
rejected (Python) or fail inside a matmul (TF Serving) before the check could name
the expected width; the exporter then declares z as [-1, latent_dim] in the
SignatureDef (`declare_z_width`), so a client reading the model's metadata from TF
Serving learns z's width. The batch limit bounds a request's memory (about 4 MiB of
activations per image at full width, so one request of a few thousand images could
take a server down); the checks run before the generator, so a refused request
never reaches it.

The loaded object also carries the model's `latent_dim`, `num_classes` (0 for an
unconditional model), `resolution`, `max_batch_size` (int64 scalars) and
`class_names` (string [num_classes]) as variables.

The module tracks the tf.Variables that the signatures' graphs capture, not the
Keras model: with the Keras 3 model as a tracked child, the SavedModel runs under
`tf.saved_model.load` but not under the TF1 loader that `saved_model_cli run` and
TF Serving use ("Could not find variable dense/kernel"), since the restore writes
to the Keras variable objects while the graphs read the tf.Variables inside them.
Keras' own `ExportArchive` tracks the captured variables for the same reason.
"""

import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from sagan_tf import noise, storage
from sagan_tf.layers.label_checks import check_num_classes, check_positive_int

SERVING_DEFAULT = "serving_default"
GENERATE = "generate"
# Images per request: 256 x ~4 MiB of activations at full width is ~1 GiB.
DEFAULT_MAX_BATCH_SIZE = 256


def check_max_batch_size(max_batch_size):
    """Returns `max_batch_size` as an int; raises unless it is a positive integer."""
    return check_positive_int(max_batch_size, "max_batch_size")


class GeneratorModule(tf.Module):
    """Wraps a generator `[z, labels] -> images in [-1, 1]` (or `z -> images`) for export.

    Args:
        generator: a built Keras model `[z float32 [N, latent_dim], labels int32 [N]]
            -> float32 [N, H, W, C]` in [-1, 1] (`sagan_tf.build_generator`), or
            `z -> images` (unconditional).
        num_classes: number of classes the generator is conditioned on; None for an
            unconditional generator.
        class_names: optional names of the classes (stored in the SavedModel).
        max_batch_size: the most examples one request may hold; larger requests
            fail in the graph with a message that says to split them.
        name: the module's name.
    """

    def __init__(self, generator, num_classes, class_names=(),
                 max_batch_size=DEFAULT_MAX_BATCH_SIZE, name="sagan_generator"):
        super().__init__(name=name)
        self.conditional = len(generator.inputs) > 1
        if self.conditional == (num_classes is None):
            raise ValueError(
                "`num_classes` must be given for a class-conditional generator ([z, labels] "
                "-> images) and None for an unconditional one (z -> images). Received: "
                f"num_classes={num_classes} with a generator of {len(generator.inputs)} "
                "input(s)")
        num_classes = check_num_classes(num_classes) if self.conditional else 0
        max_batch_size = check_max_batch_size(max_batch_size)
        class_names = [str(c) for c in class_names]
        if class_names and len(class_names) != num_classes:
            raise ValueError(
                f"`class_names` must have one name per class ({num_classes}). "
                f"Received: {len(class_names)} names")
        z_shape = generator.inputs[0].shape
        image_shape = generator.outputs[0].shape
        if len(z_shape) != 2 or len(image_shape) != 4 or image_shape[-1] is None:
            raise ValueError(
                "`generator` must map z [N, latent_dim] (and labels [N]) to images "
                f"[N, H, W, C]. Received: z shape {tuple(z_shape)}, output shape "
                f"{tuple(image_shape)}")
        self._latent_dim = int(z_shape[-1])
        self._num_classes = num_classes
        self._max_batch_size = max_batch_size
        self.latent_dim = tf.Variable(self._latent_dim, dtype=tf.int64, trainable=False,
                                      name="latent_dim")
        self.num_classes = tf.Variable(num_classes, dtype=tf.int64, trainable=False,
                                       name="num_classes")
        self.resolution = tf.Variable(int(image_shape[1]), dtype=tf.int64, trainable=False,
                                      name="resolution")
        self.max_batch_size = tf.Variable(max_batch_size, dtype=tf.int64, trainable=False,
                                          name="max_batch_size")
        self.class_names = tf.Variable(
            tf.constant(class_names or [str(i) for i in range(num_classes)], tf.string,
                        shape=[num_classes]),
            trainable=False, name="class_names")

        # Closures rather than decorated methods: they reach the generator without
        # tracking it (see the module docstring), and the default of `truncation`
        # must be a tensor (tf.saved_model.save writes tensor defaults into the
        # SignatureDef's `defaults`, which TF Serving uses for inputs a request
        # leaves out) that would start the TF runtime if created at import time.
        no_truncation = tf.constant(0.0, tf.float32)

        @tf.function(input_signature=[
            tf.TensorSpec([None, None], tf.float32, name="z"),
            tf.TensorSpec([None], tf.int32, name="labels"),
        ])
        def serving_default(z, labels):
            """(z, labels) -> {images: uint8, images_float: float32 in [-1, 1]}."""
            return images_outputs(generator, *self._checked(z, labels))

        @tf.function(input_signature=[
            tf.TensorSpec([None], tf.int32, name="labels"),
            tf.TensorSpec([], tf.int64, name="seed"),
            tf.TensorSpec([], tf.float32, name="truncation"),
        ])
        def generate(labels, seed, truncation=no_truncation):
            """(labels, seed[, truncation]) -> the outputs of serving_default."""
            labels = self._checked_labels(labels)
            z = noise.latents(seed, tf.shape(labels)[0], self._latent_dim, truncation,
                              stream=noise.SERVING)
            return images_outputs(generator, z, labels)

        @tf.function(input_signature=[tf.TensorSpec([None, None], tf.float32, name="z")])
        def serving_default_unconditional(z):
            """z -> {images: uint8, images_float: float32 in [-1, 1]}."""
            return images_outputs(generator, self._checked_z(z), None)

        one = tf.constant(1, tf.int32)

        @tf.function(input_signature=[
            tf.TensorSpec([], tf.int64, name="seed"),
            tf.TensorSpec([], tf.float32, name="truncation"),
            tf.TensorSpec([], tf.int32, name="num_images"),
        ])
        def generate_unconditional(seed, truncation=no_truncation, num_images=one):
            """(seed[, truncation][, num_images]) -> the outputs of serving_default."""
            n = self._checked_batch(num_images, "`num_images`", "images")
            z = noise.latents(seed, n, self._latent_dim, truncation, stream=noise.SERVING)
            return images_outputs(generator, z, None)

        if not self.conditional:
            serving_default, generate = serving_default_unconditional, generate_unconditional
        self.serving_default = serving_default
        self.generate = generate
        captured = {}
        for function in (serving_default, generate):
            for v in function.get_concrete_function().variables:
                captured.setdefault(v.ref(), v)
        self.generator_variables = list(captured.values())

    def signatures(self):
        """The `signatures` argument of `tf.saved_model.save`."""
        return {SERVING_DEFAULT: self.serving_default, GENERATE: self.generate}

    def _batch_checks(self, n, name, items):
        """The checks 1 <= n <= max_batch_size of a request's batch size n."""
        limit = self._max_batch_size
        # sagan_tf's SelfAttention cannot run an empty batch; say so clearly.
        return [tf.debugging.assert_positive(
                    n, message=f"{name} must hold at least one {items}. Received N = 0"),
                # N in the sentence itself (assert_less_equal would append it as
                # "x = ..."); the format op is a few bytes per request.
                tf.debugging.Assert(n <= limit, [tf.strings.format(
                    f"{name} holds N = {{}} examples; this export serves at most "
                    f"{limit} per request (max_batch_size). Split the request, or "
                    "re-export with --max_batch_size.", n)])]

    def _checked_batch(self, n, name, items):
        """`n` (a scalar batch size) after the checks of `_batch_checks`."""
        with tf.control_dependencies(self._batch_checks(n, name, items)):
            return tf.identity(n)

    def _checked_labels(self, labels):
        k = self._num_classes
        message = (f"`labels` must be class ids in [0, {k}) (the model has {k} classes). "
                   "Received a label outside that range")
        checks = [tf.debugging.assert_greater_equal(labels, 0, message=message),
                  tf.debugging.assert_less(labels, k, message=message),
                  *self._batch_checks(tf.shape(labels)[0], "`labels`", "class id")]
        with tf.control_dependencies(checks):
            return tf.identity(labels)

    def _width_check(self, z):
        d = self._latent_dim
        return tf.debugging.assert_equal(
            tf.shape(z)[1], d,
            message=f"`z` must be [N, {d}] (latent_dim = {d}). Received a z with another "
                    "number of columns (x below; y is the expected width)")

    def _z_values_checked(self, z):
        """z after the checks of its rank (2) and values (finite), each with its message,
        before anything reads z's shape (a rank-1 z would fail in a strided slice)."""
        d = self._latent_dim
        rank = tf.debugging.Assert(tf.equal(tf.rank(z), 2), [tf.strings.format(
            f"`z` must be [N, {d}] (latent_dim = {d}), a batch of rows. Received a z of "
            "rank {}: wrap a single z in a list, [[...]].", tf.rank(z))])
        with tf.control_dependencies([rank]):
            # Grappler reads shapes past control dependencies: a 2-D view, so that the
            # slicing of the later checks cannot fail before the rank check names it.
            z = tf.reshape(z, tf.stack([-1, tf.shape(z)[-1]]))
        finite = tf.debugging.Assert(tf.reduce_all(tf.math.is_finite(z)), [
            "`z` must hold finite numbers (z ~ N(0, I)). Received a z with NaN or inf"])
        with tf.control_dependencies([finite]):
            return tf.identity(z)

    def _checked_z(self, z):
        """z of an unconditional request, after its width and batch-size checks."""
        z = self._z_values_checked(z)
        checks = [self._width_check(z), *self._batch_checks(tf.shape(z)[0], "`z`", "row")]
        with tf.control_dependencies(checks):
            return tf.ensure_shape(tf.identity(z), [None, self._latent_dim])

    def _checked(self, z, labels):
        d = self._latent_dim
        z = self._z_values_checked(z)
        width = self._width_check(z)
        batch = tf.debugging.assert_equal(
            tf.shape(z)[0], tf.shape(labels)[0],
            message="`z` and `labels` must have the same batch size N. "
                    "Received different first dimensions")
        labels = self._checked_labels(labels)
        with tf.control_dependencies([width, batch]):
            z = tf.ensure_shape(tf.identity(z), [None, d])
        return z, labels



def declare_z_width(saved_model_dir, latent_dim):
    """Declares `serving_default`'s z as [-1, latent_dim] in the SavedModel's
    SignatureDef (the graph keeps taking [-1, -1]: see the module docstring)."""
    path = storage.join(saved_model_dir, "saved_model.pb")
    saved = saved_model_pb2.SavedModel.FromString(storage.read_bytes(path))
    for meta_graph in saved.meta_graphs:
        z = meta_graph.signature_def[SERVING_DEFAULT].inputs["z"]
        z.tensor_shape.dim[1].size = int(latent_dim)
    storage.write_atomically(path, saved.SerializeToString())


def images_outputs(generator, z, labels):
    """{images: uint8, images_float: float32 in [-1, 1]} of the generator for (z, labels)
    (labels None: unconditional); the outputs of every signature and export format."""
    inputs = z if labels is None else [z, labels]
    images_float = tf.cast(generator(inputs, training=False), tf.float32)
    images = tf.cast(tf.clip_by_value(tf.round((images_float + 1.0) * 127.5), 0.0, 255.0),
                     tf.uint8)
    return {"images": images, "images_float": images_float}
