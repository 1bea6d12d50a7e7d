"""`SAGAN`'s compile in a `.keras` file: `SAGAN.save()` records what `compile` was given
(both optimizers, the D steps, gradient accumulation and Keras' own compile options),
and `keras.models.load_model` compiles the loaded model with it before restoring the
optimizers' variables (their step counter, hence the noise streams, and Adam's
moments), so that `fit` continues as the uninterrupted run would."""

import keras

#: `keras.Model.compile` options that `SAGAN.compile` passes through and that are saved.
KERAS_COMPILE_KEYS = ("run_eagerly", "steps_per_execution", "jit_compile")


def compile_config(model, keras_config):
    """The compile config of a `SAGAN` (`{}` before `compile`); `keras_config` is
    `keras.Model.get_compile_config`'s, for the options Keras keeps itself."""
    if not model.compiled:
        return {}
    return {**{key: keras_config[key] for key in KERAS_COMPILE_KEYS if key in keras_config},
            "g_optimizer": keras.saving.serialize_keras_object(model.g_optimizer),
            "d_optimizer": keras.saving.serialize_keras_object(model.d_optimizer),
            "d_steps_per_g_step": model.d_steps_per_g_step,
            "grad_accum": model.grad_accum}


def compile_arguments(config):
    """The keyword arguments of `SAGAN.compile` that `compile_config` recorded."""
    return keras.saving.deserialize_keras_object(dict(config))
