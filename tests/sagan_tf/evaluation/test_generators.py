import numpy as np
import pytest
import tensorflow as tf

import sagan_tf
from noise_reference import documented_z
from sagan_tf import evaluation


def test_latents_rows_do_not_depend_on_the_batch_size():
    calls = []

    def call(z, labels):
        calls.append(z.numpy())
        return tf.zeros([len(labels), 2, 2, 3])

    source = evaluation.GeneratorSource(call=call, z_dim=4, resolution=2)
    for batch in (7, 20):
        generate_fn = evaluation.generate_fn(source, 20, seed=5)
        for start in range(0, 20, batch):
            generate_fn(np.zeros(min(batch, 20 - start), np.int32))
    by_7, by_20 = np.concatenate(calls[:3]), calls[3]
    np.testing.assert_array_equal(by_7, by_20)
    # sagan_tf.noise's formula (SciPy), the z of the export's generate(seed=5).
    np.testing.assert_allclose(by_20, documented_z(5, 20, 4), rtol=0, atol=1e-6)
    with pytest.raises(ValueError, match="more than num_samples"):
        generate_fn(np.zeros(1, np.int32))


def test_an_unconditional_keras_generator_is_called_on_z_alone():
    g = sagan_tf.build_generator("sagan32", None, channels=[8, 8, 8])
    source = evaluation.from_keras(g, num_classes=10)
    assert not source.conditional and source.num_classes is None
    z = tf.constant(documented_z(2, 3, 128))
    np.testing.assert_allclose(source.call(z, tf.constant([4, 1, 7])).numpy(),
                               g(z, training=False).numpy(), atol=1e-3)  # graph vs eager
