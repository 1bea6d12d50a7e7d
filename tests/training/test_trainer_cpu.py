"""trainer.build and the CPU: the bf16 warning where the CPU has no native bf16."""

import tensorflow as tf

from sagan_tf import cpu
from training import trainer

#: An AVX2-only CPU (no avx512_bf16, no amx_bf16), as /proc/cpuinfo lists an AMD Zen 3.
ZEN3 = cpu.CpuInfo("AMD EPYC 7B13 64-Core Processor", frozenset({"avx", "avx2", "fma"}),
                   "x86_64")
#: An Intel Sapphire Rapids: bf16 in AVX-512 and AMX.
SAPPHIRE_RAPIDS = cpu.CpuInfo("Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz",
                              frozenset({"avx2", "avx512f", "avx512_bf16", "amx_bf16"}),
                              "x86_64")


def test_a_bf16_policy_warns_only_on_a_cpu_without_native_bf16(tiny, tmp_path, monkeypatch,
                                                              caplog):
    if tf.config.list_logical_devices("GPU"):
        return  # trained on a GPU: bf16 is native there, nothing to warn about
    strategy = tf.distribute.get_strategy()
    bf16 = tiny.config(tmp_path, mixed_precision="mixed_bfloat16")
    monkeypatch.setattr(cpu, "cpu_info", lambda *args: ZEN3)
    trainer.build(bf16, strategy)
    assert "without native bf16 (AMD EPYC 7B13 64-Core Processor" in caplog.text
    assert "9 minutes" in caplog.text and "--mixed_precision=float32" in caplog.text
    for config, info in ((tiny.config(tmp_path), ZEN3), (bf16, SAPPHIRE_RAPIDS)):
        caplog.clear()
        monkeypatch.setattr(cpu, "cpu_info", lambda *args, info=info: info)
        trainer.build(config, strategy)
        assert "bf16" not in caplog.text, (config.mixed_precision, info.model)
