import json, os
import numpy as np
from export import sampling
from noise_reference import documented_z

def _ties(sheet_a, sheet_b):
    d = sheet_a.grid.astype(int) - sheet_b.grid.astype(int)
    return int(np.abs(d).max()), int((d != 0).sum())

def test_measure(model_dir, export_base, generators):
    out = {"mode": os.environ.get("MODE")}
    run = sampling.Sampler.from_model_dir(model_dir, batch_size=7)
    run64 = sampling.Sampler.from_model_dir(model_dir)
    exp = sampling.Sampler.from_saved_model(export_base)
    for t in (0.0, 0.5):
        a = sampling.class_grid(run, 3, seed=12, truncation=t)
        b = sampling.class_grid(exp, 3, seed=12, truncation=t)
        c = sampling.class_grid(run64, 3, seed=12, truncation=t)
        out[f"class_{t}"] = [float(np.abs(a.images - b.images).max()), _ties(a, b),
                             float(np.abs(a.images - c.images).max()), _ties(a, c),
                             float(np.abs(c.images - b.images).max())]
    a = sampling.interpolation_grid(run, 1, 2, steps=4, truncation=0.7, labels=[0, 5])
    b = sampling.interpolation_grid(exp, 1, 2, steps=4, truncation=0.7, labels=[0, 5])
    out["interp"] = [float(np.abs(a.images - b.images).max()), _ties(a, b)]
    sheet = sampling.class_grid(run, per_class=2, seed=3)
    z = documented_z(3, 2, 128, 0.0)
    m = 0
    for label in range(10):
        e = generators[0]([z, np.full(2, label, np.int32)], training=False).numpy()
        m = max(m, float(np.abs(sheet.images[label] - e).max()))
    out["gen_vs_sampler"] = m
    print("MEASURE", json.dumps(out))
