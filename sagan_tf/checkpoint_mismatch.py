"""A checkpoint that reads but does not fit the model: another model, not damage.

A checkpoint fails to restore for one of two reasons: its files cannot be read (a
truncated or corrupted file: damaged, set aside by the caller), or they read but hold
another model than the one built from config.json (a hand-edited config.json, or a
--model_dir of another run). The second is refused by name, saying which setting
disagrees, and nothing is moved: the checkpoint is healthy.
"""

import re

import tensorflow as tf

_SHAPE_ERROR = re.compile(r"incompatible tensor with shape \(([^)]*)\) when attempting to "
                          r"restore variable with shape \(([^)]*)\) and name ([^\s:]+)")


def checkpoint_reads(prefix):
    """Whether every tensor of the checkpoint `prefix` can be read (its checksums hold)."""
    try:
        reader = tf.train.load_checkpoint(prefix)
        for key in reader.get_variable_to_shape_map():
            reader.get_tensor(key)
    except Exception:  # noqa: BLE001 -- anything a damaged file raises
        return False
    return True


def model_mismatch(prefix, error, model, config=None, config_file="config.json"):
    """The message refusing checkpoint `prefix`, or None when it is damaged.

    Args:
        prefix: the checkpoint that did not restore.
        error: what restoring it into `model` raised.
        model: the `SAGAN` it was restored into (built from `config`).
        config: the run's `TrainConfig`, to name the setting's value (optional).
        config_file: where `config` comes from, for the message.

    Returns:
        None when the checkpoint cannot be read (damaged); else a message naming the
        checkpoint, the setting of `config_file` that disagrees with it and the fix.
    """
    if not checkpoint_reads(prefix):
        return None
    setting, detail = _disagreement(prefix, error, model)
    value = _config_value(config, setting) if config is not None else None
    where = f" ({config_file} gives {setting}={value})" if value is not None else ""
    return (f"Checkpoint {prefix} is readable but holds another model than {config_file} "
            f"describes: {detail}. Its {setting} disagrees with the checkpoint{where}. "
            f"Nothing was moved. Undo the edit of {config_file} (the checkpoints are "
            "healthy), or train the new architecture in another --model_dir.")


def _disagreement(prefix, error, model):
    """(the setting that disagrees, what differs) from the restore error."""
    match = _SHAPE_ERROR.search(str(error))
    if match is None:
        in_checkpoint = any(name.startswith("ema_generator/")
                            for name, _ in tf.train.list_variables(prefix))
        if in_checkpoint != (getattr(model, "ema_generator", None) is not None):
            has = "has" if in_checkpoint else "has no"
            return "ema_decay", f"the checkpoint {has} EMA generator"
        return ("architecture (preset, channels, attention_resolutions)",
                f"their layers differ ({type(error).__name__}: {str(error)[:200]})")
    stored, wanted, path = (_shape(match.group(1)), _shape(match.group(2)), match.group(3))
    network = _network_of(model, path, wanted)
    detail = (f"{network} variable {path} has shape {list(stored)} in the checkpoint, "
              f"{list(wanted)} in the model")
    differs = [i for i in range(min(len(stored), len(wanted))) if stored[i] != wanted[i]]
    first = differs[0] if differs and len(stored) == len(wanted) else None
    if network == "generator" and path == "dense/kernel" and first == 0:
        return "latent_dim", detail
    if first == 0 and len(wanted) == 2 and re.search(r"(gain|bias|embeddings)$", path):
        return "num_classes", detail
    return f"{network} channels", detail


def _shape(text):
    return tuple(int(d) for d in text.replace(",", " ").split())


def _network_of(model, path, shape):
    """"generator" or "discriminator": the network holding variable `path` of `shape`."""
    for name in ("generator", "discriminator"):
        network = getattr(model, name, None)
        if network is not None and any(w.path == path and tuple(w.shape) == shape
                                       for w in network.weights):
            return name
    return "generator or discriminator"


def _config_value(config, setting):
    if setting in ("latent_dim",):
        return config.network_settings("generator")["latent_dim"]
    if setting in ("num_classes", "ema_decay"):
        return getattr(config, setting)
    if setting.endswith(" channels") and not setting.startswith("generator or"):
        return config.network_settings(setting.split()[0])["channels"]
    return None
