"""Protocol names: each figure with what it was measured on, as the literature writes it.

A FID differs with the number of generated images and with the real set, so every figure
is also reported under a name that carries them: `fid50k_train` is the FID of 50,000
generated images against the `train` split (as BigGAN, StyleGAN and clean-fid name it),
`kid10k_test`, `precision10k_train`, ... Figures that read no real image name only the
number of generated images: `is50k` (Inception Score in one pass), `is50k_10splits` and
`is50k_10splits_std` (its mean and std over 10 splits, as papers report it),
`class_accuracy50k`. Counts that
are a whole number of thousands are written `<n>k`, others in full (`fid359_test`); the
split is reduced to letters, digits and `_` (`train[:10%]` -> `train_10`).

The names go into the JSON of `sagan-eval`, its printed lines, `eval.jsonl` and the
TensorBoard tags of `EvalCallback` (`eval/fid1k_test`). The number of real images and the
classifier are beside them in the JSON (`num_real_samples`, `classifier`, `reference`).
"""

import re

from sagan_tf.evaluation.metric_table import METRICS, metric


def count_name(count):
    """`50000` -> `"50k"`, `2000` -> `"2k"`, `359` -> `"359"`."""
    count = int(count)
    return f"{count // 1000}k" if count >= 1000 and count % 1000 == 0 else str(count)


def split_name(split):
    """A split as a name part: `train[:10%]` -> `train_10`; None -> `real`."""
    return re.sub(r"[^0-9A-Za-z]+", "_", str(split or "real")).strip("_") or "real"


def protocol_name(key, num_generated, real_split):
    """The protocol name of the metric `key` (a key of `evaluate`'s results; its prefix
    and whether it reads real images are its row of `metric_table.METRICS`)."""
    row = metric(key)
    name = row.prefix + count_name(num_generated)
    if row.reads_real:
        name += "_" + split_name(real_split)
    return name + row.suffix


def protocol_names(num_generated, real_split):
    """`{metric: protocol name}` for every metric of `evaluate`."""
    return {row.key: protocol_name(row.key, num_generated, real_split) for row in METRICS}


def with_protocols(results, num_generated, real_split):
    """`results` plus `"protocols"` (`{metric: name}`) and each computed figure under
    its protocol name (`results["fid"]` also as `results["fid10k_test"]`)."""
    names = protocol_names(num_generated, real_split)
    out = dict(results)
    out["protocols"] = {key: name for key, name in names.items() if key in results}
    for key, name in out["protocols"].items():
        out[name] = results[key]
    return out
