"""The run directory of a training run: its layout and its config.

    model_dir/                 (any TF filesystem: a local path, gs://, s3://, hdfs://)
      config.json              TrainConfig (with num_classes and class_names)
      checkpoints/ckpt-N       tf.train.Checkpoint: G, D, EMA G, both optimizers (with
                               their step counters); the noise RNG is stateless, keyed on
                               the step, so the step is the whole RNG state
      logs/train/              TensorBoard summaries of training (run "train")
      logs/eval/               the evaluations during training (run "eval")
      samples/                 sample grids (PNG): step_<N>.png, latest.png
      losses.csv               the losses of every step
      domain_classifier.keras  the domain classifier of the evaluations, once trained
      eval.json, eval.jsonl    sagan-eval's results; the evaluations during training
      best_fid/                the checkpoint with the lowest FID during training

The training program writes a run directory; sagan-eval, sagan-export and sagan-sample
read it through this module, so what a run directory is lives in one place. Finding,
repairing, writing and restoring its checkpoints is `sagan_tf.checkpoints`; the export
base of SavedModels is `sagan_tf.export_base`.
"""

import dataclasses
import os

from sagan_tf import storage
from sagan_tf.train_config import TrainConfig

CONFIG_FILE = "config.json"


@dataclasses.dataclass(frozen=True)
class RunDir:
    """The paths of a run directory, and reading and writing what is in it."""

    path: str

    def __post_init__(self):
        object.__setattr__(self, "path", os.fspath(self.path))

    # -- the layout ---------------------------------------------------------------------

    def join(self, *parts):
        return storage.join(self.path, *parts)

    @property
    def config_file(self):
        return self.join(CONFIG_FILE)

    @property
    def checkpoints(self):
        return self.join("checkpoints")

    @property
    def logs(self):
        """The TensorBoard log directory: one sub-directory per run (train, eval)."""
        return self.join("logs")

    @property
    def train_logs(self):
        return self.join("logs", "train")

    @property
    def eval_logs(self):
        return self.join("logs", "eval")

    @property
    def samples(self):
        return self.join("samples")

    @property
    def losses(self):
        return self.join("losses.csv")

    @property
    def domain_classifier(self):
        return self.join("domain_classifier.keras")

    @property
    def eval_file(self):
        return self.join("eval.json")

    @property
    def eval_log(self):
        return self.join("eval.jsonl")

    @property
    def best_fid(self):
        return self.join("best_fid")

    # -- the config ---------------------------------------------------------------------

    def has_config(self):
        return storage.exists(self.config_file)

    def load_config(self):
        """The run's `TrainConfig`; FileNotFoundError naming the directory if it has none."""
        if not self.has_config():
            raise FileNotFoundError(
                f"No {CONFIG_FILE} in model_dir {self.path!r}: is it the `--model_dir` of a "
                "`sagan-train` run?")
        try:
            return TrainConfig.from_json(storage.read_text(self.config_file))
        except (ValueError, TypeError) as e:  # a hand-edited file
            raise ValueError(
                f"{self.config_file} is not a valid sagan-train config: {e}. Undo the edit "
                "(every field must keep its type; see TrainConfig), or start a new run in "
                "another --model_dir.") from None

    def load_config_if_exists(self):
        """The saved config, or None for a new run."""
        return self.load_config() if self.has_config() else None

    def save_config(self, config):
        """Writes `config` as config.json (atomically)."""
        storage.write_atomically(self.config_file, config.to_json())

    # -- shorthands of sagan_tf.checkpoints -------------------------------------------

    def latest_checkpoint(self):
        """`sagan_tf.checkpoints.latest_checkpoint` of this run."""
        from sagan_tf import checkpoints  # pylint: disable=import-outside-toplevel
        return checkpoints.latest_checkpoint(self)

    def load_generator(self, use_ema=True, checkpoint=None, standing_stats=0):
        """`sagan_tf.checkpoints.load_generator` of this run."""
        from sagan_tf import checkpoints  # pylint: disable=import-outside-toplevel
        return checkpoints.load_generator(self, use_ema, checkpoint, standing_stats)
