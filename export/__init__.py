"""Export and sampling: the generator as a TF Serving SavedModel, clients, sample sheets.

- `export.module`: the `tf.Module` and its signatures (`serving_default`, `generate`).
- `export.exporter`: the versioned export_base layout, warmup file, models.config.
- `export.converters`: the `--format` registry; ONNX and LiteRT (TFLite) conversion.
- `export.warmup`: TF Serving warmup requests (PredictionLog TFRecord).
- `export.client`: gRPC and REST request builders and senders.
- `export.sampling`: class grids and interpolations from a model_dir or an export.
- `export.sample_folder`: resumable folders of PNGs, one image each, for other tools.
- `export.main`, `export.sample`: the `sagan-export` and `sagan-sample` programs.

z always comes from `sagan_tf.noise.latents`, the formula training, evaluation and
sampling share.
"""

# First: sagan_tf turns TensorFlow's oneDNN kernels on before TensorFlow loads (the
# programs' modules import tensorflow at their top; see sagan_tf/cpu.py).
import sagan_tf  # noqa: F401  # isort: skip
from sagan_tf import compat  # noqa: E402  # isort: skip

compat.forget_console_script_requires()  # before anything imports pkg_resources
