"""Tests of sagan_tf.metrics.saved_model_calls: which call of a loaded SavedModel is used."""

import numpy as np
import pytest
import tensorflow as tf

from sagan_tf.metrics import saved_model_calls


class Signed(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None, 4, 4, 3], tf.float32)])
    def classify(self, images):
        return {"logits": tf.reduce_mean(images, [1, 2]), "pool_3": images[:, 0, 0, :] * 2}


def test_callable_modules_are_called_and_signatures_found(tmp_path, fake_inception_dir):
    assert saved_model_calls.is_saved_model(fake_inception_dir)
    assert not saved_model_calls.is_saved_model(str(tmp_path))
    module = tf.saved_model.load(fake_inception_dir)
    call, spec = saved_model_calls.saved_model_call(module, fake_inception_dir, None)
    assert call is module and spec.shape.rank is None  # TF-GAN's way: the object itself

    path = str(tmp_path / "signed")
    signed = Signed()
    tf.saved_model.save(signed, path, signatures={"classify": signed.classify})
    loaded = tf.saved_model.load(path)
    call, spec = saved_model_calls.saved_model_call(loaded, path, None)  # the only one
    assert spec.shape.as_list() == [None, 4, 4, 3]
    images = np.random.default_rng(0).uniform(-1, 1, (2, 4, 4, 3)).astype(np.float32)
    np.testing.assert_allclose(call(tf.constant(images))["pool_3"], images[:, 0, 0] * 2)
    with pytest.raises(ValueError, match="has no signature 'other'"):
        saved_model_calls.saved_model_call(loaded, path, "other")
