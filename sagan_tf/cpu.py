"""The CPU sagan-tf runs on and the TensorFlow kernels it gets: oneDNN, native bf16.

Import-light on purpose: nothing here imports TensorFlow at module level, because
`enable_onednn` must run before TensorFlow loads. docs/cpu.md is the user's page.

oneDNN. TensorFlow's x86-64 builds carry two sets of CPU kernels for convolutions and
matrix multiplies: Eigen's and oneDNN's (`_MklConv2D`, `_MklMatMul`, ...). Which one
runs is decided once, when TensorFlow loads, from the environment variable
`TF_ENABLE_ONEDNN_OPTS` ("1"/"true" or "0"/"false"); unset, TensorFlow's Linux default
(`DefaultOneDnnPolicy`, tensorflow/core/util/port.cc) turns oneDNN on only on CPUs
with one of `TF_ONEDNN_DEFAULT_FLAGS` (AVX-512 VNNI or BF16, AVX-VNNI, AMX): on an
AVX2-only CPU such as AMD Zen 2/3 or Intel before Cascade Lake every convolution runs
on Eigen's slower kernels (issue 28 measured sagan32's float32 step 1.5x faster with
oneDNN on a Zen 3).

So `enable_onednn` sets `TF_ENABLE_ONEDNN_OPTS=1`, unless

- the variable is already set (by the user, or inherited from a parent process that
  sagan-tf set it in): it is kept, so `TF_ENABLE_ONEDNN_OPTS=0` turns oneDNN off;
- TensorFlow is already loaded (`"tensorflow" in sys.modules`): too late to matter,
  nothing is set, and `describe` says so (with a warning where that leaves oneDNN off);
- the machine is not x86-64: TensorFlow's own default stands (its aarch64 builds pick
  oneDNN + Arm Compute Library per CPU).

`sagan_tf/__init__.py` calls it on its first line, so importing `sagan_tf` (or any of
its modules) before TensorFlow is all a program needs: `training/__init__.py` and
`export/__init__.py` import `sagan_tf` first, which covers every program
(sagan-train, sagan-eval, sagan-fid-stats, sagan-export, sagan-sample), and the
bench scripts import `sagan_tf` before TensorFlow. When it sets the variable it also
sets `ONEDNN_MARKER` to the same value, so that a child process (which inherits both)
still reports "set by sagan-tf" rather than "set by you".

bf16. A `mixed_bfloat16` policy is fast on a CPU only where bf16 arithmetic is native
(`NATIVE_BF16_FLAGS`: avx512_bf16, amx_bf16); elsewhere TensorFlow converts and
emulates, slower than float32 (several times on a Zen 3). `bf16_warning` says so
(`warn_if_emulated_bf16` logs it; `training.trainer.build` calls it).
"""

import functools
import os
import platform
import sys
from dataclasses import dataclass

from absl import logging

ONEDNN_VAR = "TF_ENABLE_ONEDNN_OPTS"
#: Set beside ONEDNN_VAR, to the same value, when sagan-tf set it.
ONEDNN_MARKER = "SAGAN_TF_SET_ONEDNN_OPTS"

#: The /proc/cpuinfo flags that tell which TensorFlow kernels are fast, in the order
#: `describe` lists them.
FEATURES = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_tile",
            "amx_bf16")
#: Any of these turns oneDNN on by default in TensorFlow's Linux x86 builds
#: (`DefaultOneDnnPolicy` in tensorflow/core/util/port.cc, TensorFlow 2.21).
TF_ONEDNN_DEFAULT_FLAGS = ("avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile",
                           "amx_int8", "amx_bf16")
#: bf16 arithmetic in hardware: AVX-512 BF16 (Intel Cooper Lake, Sapphire Rapids and
#: later Xeons; AMD Zen 4 and later) or AMX-BF16 (Intel Sapphire Rapids and later).
NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")

_X86_64 = ("x86_64", "amd64")
_TRUE, _FALSE = ("1", "true"), ("0", "false")

#: The issue 28 measurement quoted by the bf16 warning and docs/cpu.md.
BF16_SLOWDOWN = ("on an AMD EPYC Zen 3 (AVX2 only) one sagan32 benchmark run of it had "
                 "not finished after 9 minutes, where a float32 iteration takes 8.2 s")


@dataclass(frozen=True)
class CpuInfo:
    """What the machine says about its CPU.

    model: the model name ("" when unknown); flags: every flag the OS lists;
    machine: `platform.machine()` lowercased (e.g. "x86_64", "aarch64").
    """
    model: str
    flags: frozenset
    machine: str

    @property
    def x86_64(self):
        return self.machine in _X86_64

    @property
    def known(self):
        """Whether the flags were read (an x86-64 CPU always lists some)."""
        return bool(self.flags)


def parse_cpuinfo(text, machine):
    """A `CpuInfo` from the text of /proc/cpuinfo (its first processor's entry)."""
    model, flags = "", frozenset()
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            if model and flags:
                break  # the end of the first processor's entry
            continue
        key = key.strip().lower()
        if key in ("model name", "cpu model") and not model:
            model = value.strip()
        elif key in ("flags", "features") and not flags:
            flags = frozenset(value.split())
    return CpuInfo(" ".join(model.split()), flags, machine.lower())


@functools.lru_cache(maxsize=None)
def cpu_info(path="/proc/cpuinfo"):
    """This machine's `CpuInfo`: from `path` on Linux; elsewhere (or when it cannot be
    read) the model from `platform.processor()` and no flags."""
    machine = platform.machine()
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return parse_cpuinfo(f.read(), machine)
    except OSError:
        return CpuInfo(platform.processor() or "", frozenset(), machine.lower())


def native_bf16(info=None):
    """Whether the CPU does bf16 arithmetic in hardware (`NATIVE_BF16_FLAGS`): True or
    False on an x86-64 CPU whose flags were read, None where that is unknown (other
    machines, no /proc/cpuinfo)."""
    info = info or cpu_info()
    if not (info.x86_64 and info.known):
        return None
    return any(flag in info.flags for flag in NATIVE_BF16_FLAGS)


def tf_onednn_default(info=None):
    """TensorFlow's oneDNN default on this CPU when `TF_ENABLE_ONEDNN_OPTS` is unset
    (Linux x86-64: any of `TF_ONEDNN_DEFAULT_FLAGS`); None where unknown."""
    info = info or cpu_info()
    if not (info.x86_64 and info.known and sys.platform.startswith("linux")):
        return None
    return any(flag in info.flags for flag in TF_ONEDNN_DEFAULT_FLAGS)


def _parse_bool(value):
    value = value.strip().lower()
    return True if value in _TRUE else False if value in _FALSE else None


def enable_onednn(environ=None, modules=None, info=None):
    """Sets `TF_ENABLE_ONEDNN_OPTS=1` (and `ONEDNN_MARKER`) in `environ` (os.environ)
    unless the variable is set, TensorFlow is in `modules` (sys.modules) or the
    machine is not x86-64 (see the module docstring). Returns whether it set it.
    When TensorFlow is already loaded with oneDNN left off, warns once how to turn it
    on."""
    environ = os.environ if environ is None else environ
    modules = sys.modules if modules is None else modules
    info = info or cpu_info()
    if ONEDNN_VAR in environ:
        return False
    if "tensorflow" in modules:
        if tf_onednn_default(info) is False:
            logging.warning(
                "TensorFlow was imported before sagan_tf, so its oneDNN kernels stay off "
                "on this CPU (%s; TensorFlow turns them on by itself only with %s) and "
                "float32 convolutions run on slower kernels. Import sagan_tf first, or "
                "set %s=1 before starting Python (docs/cpu.md).", info.model or "unknown",
                " or ".join(TF_ONEDNN_DEFAULT_FLAGS), ONEDNN_VAR)
        return False
    if not info.x86_64:
        return False
    environ[ONEDNN_VAR] = environ[ONEDNN_MARKER] = "1"
    return True


def onednn_state(environ=None, modules=None, info=None):
    """(on, why): whether TensorFlow's oneDNN kernels are (or, before TensorFlow loads,
    will be) on, and who decided: "set by sagan-tf", "TF_ENABLE_ONEDNN_OPTS=<v> set by
    you", "TF default" (with a note when TensorFlow was loaded before sagan_tf). `on` is
    None when it cannot be told (TensorFlow not loaded, its default unknown here)."""
    environ = os.environ if environ is None else environ
    modules = sys.modules if modules is None else modules
    value = environ.get(ONEDNN_VAR)
    if value is None:
        why = "TF default"
    elif environ.get(ONEDNN_MARKER) == value:
        why = "set by sagan-tf"
    else:
        why = f"{ONEDNN_VAR}={value} set by you"
    if "tensorflow" in modules:
        from sagan_tf import compat  # pylint: disable=import-outside-toplevel
        return compat.onednn_enabled(), why
    on = tf_onednn_default(info) if value is None else _parse_bool(value)
    if value is not None and on is None:  # TensorFlow ignores the value then
        on = tf_onednn_default(info)
    return on, why


def describe_cpu(info=None):
    """"<model> (<features it has>; no <those it lacks>)", and whether bf16 is native."""
    info = info or cpu_info()
    model = info.model or f"unknown {info.machine or 'CPU'}"
    if not info.known:
        return f"{model} (CPU flags unknown)"
    has = [f for f in FEATURES if f in info.flags]
    lacks = [f for f in FEATURES if f not in info.flags]
    parts = [" ".join(has) or "none of " + " ".join(FEATURES)]
    if has and lacks:
        parts.append("no " + " ".join(lacks))
    bf16 = native_bf16(info)
    if bf16 is not None:
        parts.append("bf16 native" if bf16 else "bf16 emulated")
    return f"{model} ({'; '.join(parts)})"


def describe(environ=None, modules=None, info=None):
    """One line: which kernels TensorFlow runs and the CPU, e.g. "oneDNN on (set by
    sagan-tf); CPU: AMD EPYC 7B13 64-Core Processor (avx2; no avx512f ...; bf16
    emulated)". sagan-train logs it at start; bench/train_step.py prints it."""
    on, why = onednn_state(environ, modules, info)
    state = "unknown" if on is None else "on" if on else "off"
    return f"oneDNN {state} ({why}); CPU: {describe_cpu(info)}"


def bf16_warning(policy, on_cpu=True, info=None):
    """The warning for Keras dtype policy `policy` (a name) when it computes in
    bfloat16 on a CPU without native bf16 (`native_bf16` is False); None otherwise
    (float32, a GPU, a CPU with native bf16 or one that cannot be told)."""
    if "bfloat16" not in str(policy) or not on_cpu:
        return None
    info = info or cpu_info()
    if native_bf16(info) is not False:
        return None
    return (f"`mixed_precision={policy}` on a CPU without native bf16 "
            f"({info.model or 'unknown model'}: no {' or '.join(NATIVE_BF16_FLAGS)} flag): "
            f"TensorFlow emulates bfloat16 here, slower than float32 ({BF16_SLOWDOWN}). "
            f"Use --mixed_precision=float32 on this CPU; "
            f"bf16 pays off on CPUs with {' or '.join(NATIVE_BF16_FLAGS)} and on GPUs "
            f"(docs/cpu.md).")


def warn_if_emulated_bf16(policy):
    """Logs `bf16_warning` for `policy` when TensorFlow sees no GPU. Returns it."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    message = bf16_warning(policy, on_cpu=not tf.config.list_logical_devices("GPU"))
    if message:
        logging.warning("%s", message)
    return message
