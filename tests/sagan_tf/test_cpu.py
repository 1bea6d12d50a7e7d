"""sagan_tf.cpu: the CPU's features, oneDNN before TensorFlow loads, the bf16 warning.

The feature logic runs on /proc/cpuinfo texts of an AVX2-only AMD Zen 3 and an
AVX-512/AMX Intel Sapphire Rapids (flags as those machines list them), so it is tested
whatever CPU runs the tests; the subprocess tests check the real TensorFlow of a fresh
interpreter.
"""

import ast
import glob
import json
import os
import subprocess
import sys

import pytest

from sagan_tf import cpu

_COMMON = ("fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush "
           "mmx fxsr sse sse2 ht syscall nx pdpe1gb rdtscp lm constant_tsc rep_good nopl "
           "cpuid pni pclmulqdq ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt aes "
           "xsave avx f16c rdrand hypervisor lahf_lm abm 3dnowprefetch ssbd ibrs ibpb stibp "
           "fsgsbase tsc_adjust bmi1 avx2 smep bmi2 erms invpcid rdseed adx smap clflushopt "
           "clwb sha_ni xsaveopt xsavec xgetbv1 arat umip vaes vpclmulqdq rdpid fsrm")
ZEN3_FLAGS = _COMMON + " mmxext fxsr_opt cmp_legacy sse4a misalignsse topoext clzero xsaveerptr"
SPR_FLAGS = _COMMON + (" avx512f avx512dq avx512ifma avx512cd avx512bw avx512vl avx_vnni "
                       "avx512_bf16 avx512vbmi avx512_vbmi2 gfni avx512_vnni avx512_bitalg "
                       "avx512_vpopcntdq serialize amx_bf16 avx512_fp16 amx_tile amx_int8")


def cpuinfo_text(model, flags, processors=2):
    entry = (f"processor\t: {{}}\nvendor_id\t: x\ncpu family\t: 25\nmodel\t\t: 1\n"
             f"model name\t: {model}\nstepping\t: 1\nflags\t\t: {flags}\n"
             f"bogomips\t: 4899.99\n\n")
    return "".join(entry.format(i) for i in range(processors))


ZEN3 = cpu.parse_cpuinfo(cpuinfo_text("AMD EPYC 7B13 64-Core Processor", ZEN3_FLAGS),
                         "x86_64")
SAPPHIRE_RAPIDS = cpu.parse_cpuinfo(
    cpuinfo_text("Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz", SPR_FLAGS), "x86_64")
ARM = cpu.parse_cpuinfo("processor\t: 0\nFeatures\t: fp asimd evtstrm bf16\n"
                        "CPU implementer\t: 0x41\n\n", "aarch64")
UNKNOWN = cpu.CpuInfo("", frozenset(), "x86_64")  # no /proc/cpuinfo


@pytest.fixture
def linux(monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")


def test_parse_reads_the_first_processors_model_and_flags():
    assert ZEN3.model == "AMD EPYC 7B13 64-Core Processor"  # not "model : 1"
    assert ZEN3.flags == frozenset(ZEN3_FLAGS.split()) and ZEN3.x86_64
    assert not ARM.x86_64 and "bf16" in ARM.flags and ARM.model == ""


def test_native_bf16_and_tensorflows_onednn_default_per_cpu(linux):
    # TensorFlow's DefaultOneDnnPolicy: on with VNNI, BF16 or AMX; Zen 3 has none.
    assert cpu.native_bf16(ZEN3) is False and cpu.tf_onednn_default(ZEN3) is False
    assert cpu.native_bf16(SAPPHIRE_RAPIDS) is True
    assert cpu.tf_onednn_default(SAPPHIRE_RAPIDS) is True
    for info in (ARM, UNKNOWN):  # not told: no warning, no guess
        assert cpu.native_bf16(info) is None and cpu.tf_onednn_default(info) is None
    # Each flag of the defaults' registries decides alone.
    for flag in cpu.TF_ONEDNN_DEFAULT_FLAGS:
        assert cpu.tf_onednn_default(cpu.CpuInfo("", ZEN3.flags | {flag}, "x86_64"))
    for flag in cpu.NATIVE_BF16_FLAGS:
        assert cpu.native_bf16(cpu.CpuInfo("", ZEN3.flags | {flag}, "x86_64"))


def test_cpu_info_of_a_missing_file_is_unknown(tmp_path):
    info = cpu.cpu_info(str(tmp_path / "no_cpuinfo"))
    assert not info.known and cpu.native_bf16(info) is None


def test_enable_onednn_sets_the_variable_only_when_it_decides(linux):
    environ = {}
    assert cpu.enable_onednn(environ, modules={}, info=ZEN3)
    assert environ == {cpu.ONEDNN_VAR: "1", cpu.ONEDNN_MARKER: "1"}
    assert cpu.onednn_state(environ, {}, ZEN3) == (True, "set by sagan-tf")
    for value in ("0", "1", "false"):  # the user's value is kept
        environ = {cpu.ONEDNN_VAR: value}
        assert not cpu.enable_onednn(environ, modules={}, info=ZEN3)
        assert environ == {cpu.ONEDNN_VAR: value}
        assert cpu.onednn_state(environ, {}, ZEN3) == (
            value == "1", f"{cpu.ONEDNN_VAR}={value} set by you")
    # A child process inherits both: still sagan-tf's; a user's change is the user's.
    assert cpu.onednn_state({cpu.ONEDNN_VAR: "0", cpu.ONEDNN_MARKER: "1"}, {}, ZEN3) == (
        False, f"{cpu.ONEDNN_VAR}=0 set by you")
    # TensorFlow loaded already, or not x86-64: nothing set, TensorFlow's default.
    for modules, info in (({"tensorflow": object()}, SAPPHIRE_RAPIDS), ({}, ARM)):
        environ = {}
        assert not cpu.enable_onednn(environ, modules=modules, info=info)
        assert environ == {}
    assert cpu.onednn_state({}, {}, ZEN3) == (False, "TF default")


def test_enable_onednn_after_tensorflow_warns_where_that_leaves_onednn_off(linux, caplog):
    cpu.enable_onednn({}, modules={"tensorflow": object()}, info=ZEN3)
    assert "oneDNN kernels stay off" in caplog.text and "Import sagan_tf first" in caplog.text
    caplog.clear()
    cpu.enable_onednn({}, modules={"tensorflow": object()}, info=SAPPHIRE_RAPIDS)
    assert caplog.text == ""


def test_describe_names_the_state_the_cpu_and_its_features(linux):
    line = cpu.describe({cpu.ONEDNN_VAR: "1", cpu.ONEDNN_MARKER: "1"}, {}, ZEN3)
    assert line == ("oneDNN on (set by sagan-tf); CPU: AMD EPYC 7B13 64-Core Processor "
                    "(avx2; no avx512f avx512_vnni avx_vnni avx512_bf16 amx_tile amx_bf16; "
                    "bf16 emulated)")
    line = cpu.describe({cpu.ONEDNN_VAR: "0"}, {}, SAPPHIRE_RAPIDS)
    assert line.startswith(f"oneDNN off ({cpu.ONEDNN_VAR}=0 set by you); CPU: Intel")
    assert line.endswith(f"({' '.join(cpu.FEATURES)}; bf16 native)")
    assert cpu.describe({}, {}, ARM) == ("oneDNN unknown (TF default); CPU: unknown aarch64 "
                                         "(none of " + " ".join(cpu.FEATURES) + ")")


def test_bf16_warning_only_for_bf16_on_a_cpu_without_it():
    message = cpu.bf16_warning("mixed_bfloat16", info=ZEN3)
    assert "AMD EPYC 7B13" in message and "avx512_bf16 or amx_bf16" in message
    assert "9 minutes" in message and "--mixed_precision=float32" in message
    assert cpu.bf16_warning("mixed_bfloat16", on_cpu=False, info=ZEN3) is None  # a GPU
    for policy, info in (("float32", ZEN3), ("mixed_float16", ZEN3),
                         ("mixed_bfloat16", SAPPHIRE_RAPIDS), ("mixed_bfloat16", ARM),
                         ("mixed_bfloat16", UNKNOWN)):
        assert cpu.bf16_warning(policy, info=info) is None, (policy, info.model)


# -- a fresh interpreter: the real TensorFlow ------------------------------------------

_PROBE = """
import json, os, sys
{imports}
from sagan_tf import compat, cpu
print(json.dumps({{"var": os.environ.get(cpu.ONEDNN_VAR), "tf_onednn": compat.onednn_enabled(),
                  "describe": cpu.describe()}}))
"""


def _probe(imports, **env):
    environ = {k: v for k, v in os.environ.items()
               if k not in (cpu.ONEDNN_VAR, cpu.ONEDNN_MARKER)}
    environ.update(TF_CPP_MIN_LOG_LEVEL="2", **env)
    done = subprocess.run([sys.executable, "-c", _PROBE.format(imports=imports)],
                          capture_output=True, text=True, env=environ, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not cpu.cpu_info().x86_64, reason="sagan-tf sets oneDNN on x86-64 only")
def test_importing_sagan_tf_first_turns_onednn_on_and_keeps_the_users_choice():
    out = _probe("import sagan_tf")
    assert out["var"] == "1" and out["tf_onednn"] is True
    assert out["describe"].startswith("oneDNN on (set by sagan-tf); CPU: ")
    # A program's import (training/__init__.py imports sagan_tf first) keeps the user's 0.
    out = _probe("import training.train", TF_ENABLE_ONEDNN_OPTS="0")
    assert out["var"] == "0" and out["tf_onednn"] is False
    assert out["describe"].startswith("oneDNN off (TF_ENABLE_ONEDNN_OPTS=0 set by you)")


@pytest.mark.slow  # a third TensorFlow start (~15 s on a busy machine)
def test_tensorflow_imported_first_keeps_its_default():
    out = _probe("import tensorflow\nimport sagan_tf")
    assert out["var"] is None
    assert out["tf_onednn"] is cpu.tf_onednn_default(cpu.cpu_info())
    assert "(TF default)" in out["describe"]


# -- every entry point imports sagan_tf before TensorFlow --------------------------------

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _top_level_imports(path):
    """The modules a file imports at module level, in order."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    names = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


def test_programs_and_bench_scripts_import_sagan_tf_before_tensorflow():
    # The programs' packages: importing any program module runs these first.
    for package in ("training", "export"):
        imports = _top_level_imports(os.path.join(ROOT, package, "__init__.py"))
        assert imports and imports[0] == "sagan_tf", (package, imports)
    scripts = sorted(glob.glob(os.path.join(ROOT, "bench", "*.py")))
    assert scripts
    for path in scripts:
        roots = [name.split(".")[0] for name in _top_level_imports(path)]
        heavy = [i for i, name in enumerate(roots) if name in ("tensorflow", "keras")]
        if heavy:
            assert "sagan_tf" in roots[:heavy[0]], (os.path.basename(path), roots)
