"""The TF-GAN eval loader: fails loudly if the workaround for TF >= 2.16 stops working."""

import pathlib
import subprocess
import sys
import textwrap

import numpy as np
import tensorflow as tf

from sagan_tf.metrics import tfgan_eval


def test_loads_tfgan_eval_with_the_required_functions():
    module = tfgan_eval.load_tfgan_eval()
    assert module.__name__ == "tensorflow_gan.python.eval"
    for name in tfgan_eval.REQUIRED_FUNCTIONS:
        assert callable(getattr(module, name)), name
    assert tfgan_eval.load_tfgan_eval() is module  # Cached.
    # The eval functions run (on tiny inputs).
    x = tf.constant(np.arange(12.0).reshape(4, 3) ** 1.5)
    assert np.isfinite(module.frechet_classifier_distance_from_activations(x, x + 1))
    assert np.isfinite(module.classifier_score_from_logits(x))


def test_leaves_no_placeholder_packages_behind():
    tfgan_eval.load_tfgan_eval()
    for name in ("tensorflow_gan", "tensorflow_gan.python"):
        module = sys.modules.get(name)
        assert module is None or not getattr(module, "_sagan_tf_placeholder", False)


def test_real_tensorflow_gan_import_behaves_as_without_the_loader():
    # In a fresh interpreter: a real `import tensorflow_gan` fails (or works) the
    # same way before and after load_tfgan_eval(), and the loader still works after
    # a failed real import.
    script = textwrap.dedent("""
        import os
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"

        def real_import():
            try:
                import tensorflow_gan
            except Exception as e:
                return f"{type(e).__name__}: {e}"
            return "ok:" + ",".join(sorted(n for n in dir(tensorflow_gan)
                                           if not n.startswith("_")))

        before = real_import()
        from sagan_tf.metrics.tfgan_eval import load_tfgan_eval
        module = load_tfgan_eval()
        assert callable(module.classifier_score_from_logits)
        after = real_import()
        print("BEFORE", before)
        print("AFTER", after)
        assert before == after, (before, after)
        """)
    repo_root = pathlib.Path(__file__).resolve().parents[3]
    result = subprocess.run([sys.executable, "-c", script], capture_output=True,
                            text=True, timeout=300, cwd=repo_root)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
