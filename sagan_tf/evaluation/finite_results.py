"""A non-finite metric is never written silently: the names of the NaN or inf numbers
of a results dict, for the programs to refuse them by name."""

import math


def non_finite(results, prefix=""):
    """The keys (dotted for nested dicts, `[i]` for lists) of non-finite numbers."""
    found = []
    items = results.items() if isinstance(results, dict) else enumerate(results)
    for key, value in items:
        name = f"{prefix}.{key}" if isinstance(results, dict) and prefix else (
            f"{prefix}[{key}]" if not isinstance(results, dict) else str(key))
        if isinstance(value, (dict, list, tuple)):
            found += non_finite(value, name)
        elif isinstance(value, float) and not math.isfinite(value):
            found.append(f"{name}={value}")
    return found


def message(bad, program):
    """The refusal of results holding the non-finite `bad` (from `non_finite`)."""
    return (f"{program}: error: the results hold non-finite values: {', '.join(bad)}. "
            "Nothing was written. A NaN usually comes from the inputs: check the "
            "reference file and the checkpoint (a diverged run has NaN weights).")
