"""Benchmark: one D and one G update of sagan_tf beside StudioGAN's, from the same start.

    python bench/studiogan_update.py --torch_python=VENV/bin/python
        --studiogan_src=PATH/PyTorch-StudioGAN/src [--conv_dim=16] [--batch_size=8]
        [--sgd_lr=0.01] [--attention_gamma=0] [--forms=plain]

Issue 24's check that our training step is StudioGAN's: the same initial weights, the
same real batch, labels and z, one D update and one G update on each side, then the
weights compared. Run it with this package's Python; `--torch_python` is a Python with
CPU PyTorch and StudioGAN's requirements (see `bench/studiogan_step.py`, whose
`networks()` builds StudioGAN's `models/resnet.py` G and D with its CIFAR-10 SAGAN
config; StudioGAN's `utils/style_ops` import `pkg_resources`, so that Python needs
setuptools < 81). StudioGAN's code is imported from `--studiogan_src` at run time, none
of it is here. This script runs itself with `--side=torch` in that Python, which:

1. builds StudioGAN's G and D at `g_conv_dim = d_conv_dim = --conv_dim` (G: 4 x conv_dim
   channels, D: 2 x conv_dim; 32x32, 10 classes, z 128, conditional BN, projection D,
   spectral norm, attention after G's second and D's first block, orthogonal init),
   seeded, with the attention gains (`sigma`, 0 at init) set to `--attention_gamma`;
2. draws a real batch in [-1, 1], its labels, and the z of the D step and of the G step;
3. records G's images and D's logits of a training-mode forward pass (batch statistics,
   one power iteration: what a training step computes), then restores the state;
4. from the same start, for SGD (`--sgd_lr`, both networks) and for Adam (our
   defaults, the paper's TTUR: D 4e-4, G 1e-4, betas (0, 0.9)), does what StudioGAN's
   `worker.py` does for one D step (G frozen, D on the real batch then on G's fakes,
   `d_hinge`, backward, step) and one G step (D frozen, `g_hinge` of D(G(z))); the fakes
   take the real batch's labels, as ours do (StudioGAN draws its own fake labels);
5. does steps 3 and 4 again with controls, each named below: D's ReLUs not in place
   ("relu_copy"), also D's projection embedding spectrally normalized along its other
   axis (`spectral_norm(dim=1)`, u over the embedding width as ours), and that in
   float64 (the reference against which both float32 steps' rounding is judged: the
   figures include StudioGAN's float32 step against it);
6. saves all of it to one .npz.

This side then builds our G and D with the matching settings (`class_affine="sn_linear"`
for StudioGAN's `1 + SN-linear(one-hot)` gain and SN-linear bias, BN epsilon 1e-4 and
momentum 0.9 (torch's 0.1), and the paper's forms `upsample_conv="plain"` and
`pooled_conv="plain"`; `--forms=rewritten` uses our default sub-pixel and strided
forms, the same functions to rounding), maps StudioGAN's weights onto ours (conv
kernels OIHW -> HWIO, linear weights transposed, G's first linear layer's outputs from
NCHW to NHWC order, spectral-norm u vectors, BN running statistics), compares the
forward pass, then runs `sagan_tf.SAGAN.train_step` once (one D and one G update, the
z of each update fixed to StudioGAN's) with each optimizer and compares every variable.

Known differences, each named and measured rather than hidden (StudioGAN's in-place ReLU
in D's shortcut, the embedding's power-iteration axis, BN's biased moving variance, Adam's
epsilon and first sign step, G's conv biases ahead of batch norms, attention at sigma = 0):
docs/studies.md, "One update beside StudioGAN", where the figures are.

Prints the CPU, the versions, the figures, and a JSON line last.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import studiogan_step  # noqa: E402  (torch only imported when networks are built)
from studiogan_weights import (ADAM, BN_EPSILON, BN_MOMENTUM, NUM_CLASSES,  # noqa: E402
                               OPTIMIZERS, VARIANTS, Z_DIM, bn_sizes, differences,
                               discriminator_weights, generator_weights,
                               print_report, unbiased_moving_variance)


def torch_side(args):
    sys.path.insert(0, HERE)
    import torch
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)  # the orthogonal init and the u, v of spectral_norm
    src = os.path.abspath(args.studiogan_src)
    gen, dis, torch, losses = studiogan_step.networks(src, args.conv_dim, args.conv_dim)
    import utils.misc as misc  # StudioGAN's, importable once networks() ran
    for net in (gen, dis):
        for name, p in net.named_parameters():
            if name.endswith(".sigma"):
                p.data.fill_(args.attention_gamma)
    rng = torch.Generator().manual_seed(args.seed + 1)
    b = args.batch_size
    real = torch.rand(b, 3, 32, 32, generator=rng) * 2 - 1
    labels = torch.randint(0, NUM_CLASSES, (b,), generator=rng)
    z_d = torch.randn(b, Z_DIM, generator=rng)
    z_g = torch.randn(b, Z_DIM, generator=rng)

    def state_of(net):
        return {k: v.detach().clone() for k, v in net.state_dict().items()}

    g0, d0 = state_of(gen), state_of(dis)
    out = {"real": real.numpy(), "labels": labels.numpy(), "z_d": z_d.numpy(),
           "z_g": z_g.numpy(), "torch_version": np.array(torch.__version__)}
    out.update({f"init/G/{k}": v.numpy() for k, v in g0.items()})
    out.update({f"init/D/{k}": v.numpy() for k, v in d0.items()})
    for variant, (inplace_relu, embedding_sn_dim, dtype) in VARIANTS.items():
        cast = _to_float64 if dtype == "float64" else (lambda t: t)
        for kind in ("forward",) + OPTIMIZERS:
            gen, dis, _, _ = studiogan_step.networks(src, args.conv_dim, args.conv_dim,
                                                     inplace_relu=inplace_relu)
            gen.load_state_dict(g0)
            dis.load_state_dict(d0)
            if embedding_sn_dim == 1:
                _embedding_sn_dim1(torch, dis, d0)
            gen, dis = cast(gen), cast(dis)
            gen.train()
            dis.train()
            if kind == "forward":  # a training step's forward: batch statistics, SN step
                with torch.no_grad():
                    out[f"forward/{variant}/G"] = gen(cast(z_d), labels).numpy()
                    out[f"forward/{variant}/D"] = dis(cast(real), labels)[
                        "adv_output"].numpy()
                continue
            d_loss, g_loss = _one_iteration(torch, losses, misc, gen, dis, kind, args,
                                            cast(real), labels, cast(z_d), cast(z_g))
            tag = f"after/{variant}/{kind}"
            out[f"{tag}/d_loss"], out[f"{tag}/g_loss"] = np.array(d_loss), np.array(g_loss)
            out.update({f"{tag}/G/{k}": v.numpy() for k, v in state_of(gen).items()})
            out.update({f"{tag}/D/{k}": v.numpy() for k, v in state_of(dis).items()})
    np.savez(args.out, **out)
    print(f"torch {torch.__version__}: saved {args.out}")


def _to_float64(t):
    """`t` (a tensor or a StudioGAN network) in float64; a network's class-conditional
    linear layers get their input cast too (StudioGAN's G makes its one-hot float32)."""
    t = t.double()
    for name, module in getattr(t, "named_modules", lambda: ())():
        if name.endswith((".gain", ".bias")) and hasattr(module, "weight_orig"):
            module.register_forward_pre_hook(lambda m, args: tuple(a.double() for a in args))
    return t


def _one_iteration(torch, losses, misc, gen, dis, kind, args, real, labels, z_d, z_g):
    """worker.py's D step then G step with optimizer `kind`; returns (L_D, L_G)."""
    if kind == "sgd":
        g_opt = torch.optim.SGD(gen.parameters(), lr=args.sgd_lr)
        d_opt = torch.optim.SGD(dis.parameters(), lr=args.sgd_lr)
    else:
        eps = ADAM["keras_epsilon"] / np.sqrt(1 - ADAM["beta_2"])  # see the docstring
        betas = (ADAM["beta_1"], ADAM["beta_2"])
        g_opt = torch.optim.Adam(gen.parameters(), lr=ADAM["g_lr"], betas=betas, eps=eps)
        d_opt = torch.optim.Adam(dis.parameters(), lr=ADAM["d_lr"], betas=betas, eps=eps)
    # The D step: G frozen, D on the real batch, then on G's fakes.
    misc.toggle_grad(gen, False)
    misc.toggle_grad(dis, True)
    d_opt.zero_grad()
    fake = gen(z_d, labels)
    d_loss = losses.d_hinge(dis(real, labels)["adv_output"], dis(fake, labels)["adv_output"],
                            DDP=False)
    d_loss.backward()
    d_opt.step()
    # The G step: D frozen.
    misc.toggle_grad(dis, False)
    misc.toggle_grad(gen, True)
    g_opt.zero_grad()
    g_loss = losses.g_hinge(dis(gen(z_g, labels), labels)["adv_output"], DDP=False)
    g_loss.backward()
    g_opt.step()
    return d_loss.item(), g_loss.item()


def _embedding_sn_dim1(torch, dis, d0):
    """Re-wraps D's projection embedding (state `d0`) in `spectral_norm(dim=1)` (u over
    the width), u = normalize(E^T u0), v = u0: at init (E E^T = I) the same sigma and
    u-v pair as dim 0's first iteration."""
    emb = dis.embedding
    e = d0["embedding.weight_orig"].clone()
    u0 = d0["embedding.weight_u"].clone()
    torch.nn.utils.remove_spectral_norm(emb)
    torch.nn.utils.spectral_norm(emb, dim=1, eps=1e-6)
    with torch.no_grad():
        emb.weight_orig.copy_(e)
        u = e.t() @ u0
        emb.weight_u.copy_(u / u.norm())
        emb.weight_v.copy_(u0)


# -- our side -------------------------------------------------------------------------

def _torch_state(data, prefix):
    return {k[len(prefix):]: data[k] for k in data.files if k.startswith(prefix)}


def build_ours(conv_dim, forms):
    import sagan_tf
    plain = forms == "plain"
    g = sagan_tf.build_generator(
        "sagan32", NUM_CLASSES, channels=[4 * conv_dim] * 3, class_affine="sn_linear",
        bn_epsilon=BN_EPSILON, bn_momentum=BN_MOMENTUM,
        upsample_conv="plain" if plain else "subpixel")
    d = sagan_tf.build_discriminator("sagan32", NUM_CLASSES, channels=[2 * conv_dim] * 4,
                                     pooled_conv="plain" if plain else "strided")
    return g, d


def assign(model, weights):
    """Sets every variable of `model` from `weights` (path -> array); refuses a missing,
    extra or misshapen one."""
    variables = {v.path: v for v in model.weights}
    if set(variables) != set(weights):
        raise ValueError(f"{model.name}: not mapped {sorted(set(variables) - set(weights))}, "
                         f"unknown {sorted(set(weights) - set(variables))}")
    for path, v in variables.items():
        if tuple(v.shape) != tuple(np.shape(weights[path])):
            raise ValueError(f"{path}: ours {tuple(v.shape)}, StudioGAN's "
                             f"{np.shape(weights[path])}")
        v.assign(np.asarray(weights[path], dtype=np.float32))


def values(model):
    return {v.path: v.numpy() for v in model.weights}


def our_side(args, data):
    import keras
    import tensorflow as tf

    import sagan_tf
    from sagan_tf import cpu
    from sagan_tf.sagan import SAGAN

    class FixedNoiseSAGAN(SAGAN):
        """SAGAN whose z per update is given (StudioGAN's): k 0 the G step, 1 the D step."""

        fixed_z = {}

        def noise(self, labels, k=0, micro=0):
            return self.fixed_z[k]

    real = tf.constant(np.transpose(data["real"], (0, 2, 3, 1)))
    labels = tf.constant(data["labels"].astype(np.int32))
    z = {0: tf.constant(data["z_g"]), 1: tf.constant(data["z_d"])}
    g, d = build_ours(args.conv_dim, args.forms)
    g_init = generator_weights(_torch_state(data, "init/G/"))
    d_init = discriminator_weights(_torch_state(data, "init/D/"))
    assign(g, g_init)
    assign(d, d_init)
    report = {"cpu": cpu.describe(), "python": platform.python_version(),
              "tensorflow": tf.__version__, "keras": keras.__version__,
              "torch": str(data["torch_version"]), "numpy": np.__version__,
              "sagan_tf": sagan_tf.__version__, "conv_dim": args.conv_dim,
              "batch_size": int(labels.shape[0]), "forms": args.forms,
              "sgd_lr": args.sgd_lr, "attention_gamma": args.attention_gamma,
              "adam_settings": ADAM}
    images = g([z[1], labels], training=True).numpy()
    logits = d([real, labels], training=True).numpy()
    report["forward"] = {}
    for variant in VARIANTS:
        theirs_g = np.transpose(data[f"forward/{variant}/G"], (0, 2, 3, 1))
        theirs_d = data[f"forward/{variant}/D"]
        report["forward"][variant] = {
            "G_max_abs": float(np.max(np.abs(images - theirs_g))),
            "D_max_abs": float(np.max(np.abs(logits - theirs_d))),
            "D_max_abs_logit": float(np.max(np.abs(theirs_d)))}
    for kind in OPTIMIZERS:
        assign(g, g_init)
        assign(d, d_init)
        model = FixedNoiseSAGAN(g, d)
        model.fixed_z = z
        if kind == "sgd":
            opts = dict(g_optimizer=keras.optimizers.SGD(args.sgd_lr),
                        d_optimizer=keras.optimizers.SGD(args.sgd_lr))
        else:
            adam = {k: ADAM[k] for k in ("beta_1", "beta_2")}
            opts = dict(g_optimizer=keras.optimizers.Adam(
                            ADAM["g_lr"], epsilon=ADAM["keras_epsilon"], **adam),
                        d_optimizer=keras.optimizers.Adam(
                            ADAM["d_lr"], epsilon=ADAM["keras_epsilon"], **adam))
        model.compile(**opts)
        metrics = model.train_step((real, labels))
        g_after, d_after = values(g), values(d)
        for variant in VARIANTS:
            tag = f"after/{variant}/{kind}"
            g_torch = generator_weights(_torch_state(data, tag + "/G/"))
            d_torch = discriminator_weights(_torch_state(data, tag + "/D/"),
                                            embedding_sn_dim=VARIANTS[variant][1])
            g_diff = differences(g_after, g_torch, g_init, "G")
            corrected = dict(g_after)
            for path, n in bn_sizes(labels.shape[0]).items():
                corrected[path] = unbiased_moving_variance(g_after[path], n, updates=2)
            g_diff["bn_moving_variance_unbiased"] = differences(
                {p: corrected[p] for p in corrected if p.endswith("moving_variance")},
                g_torch, g_init, "G")["bn_moving_variance"]
            report.setdefault(kind, {})[variant] = {
                "d_loss": [float(metrics["d_loss"]), float(data[tag + "/d_loss"])],
                "g_loss": [float(metrics["g_loss"]), float(data[tag + "/g_loss"])],
                "D": differences(d_after, d_torch, d_init), "G": g_diff}
        # How far StudioGAN's own float32 step is from its float64 step: the scale of
        # rounding, to judge ours against.
        tag32, tag64 = (f"after/relu_copy_embedding_sn_dim1{s}/{kind}" for s in ("", "_float64"))
        report[kind]["studiogan_float32_vs_float64"] = {
            net: differences(fn(_torch_state(data, f"{tag32}/{net}/"), **kw),
                             fn(_torch_state(data, f"{tag64}/{net}/"), **kw), init, net)
            for net, fn, kw, init in (("D", discriminator_weights, {"embedding_sn_dim": 1},
                                       d_init),
                                      ("G", generator_weights, {}, g_init))}
    return report


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--studiogan_src", required=True,
                        help="the src folder of a PyTorch-StudioGAN checkout")
    parser.add_argument("--torch_python", help="a Python with CPU PyTorch (see above)")
    parser.add_argument("--torch_npz", help="reuse the torch side's .npz of an earlier run")
    parser.add_argument("--side", choices=("ours", "torch"), default="ours")
    parser.add_argument("--out", help="(--side=torch) where to save the .npz")
    parser.add_argument("--conv_dim", type=int, default=16)
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--sgd_lr", type=float, default=0.01)
    parser.add_argument("--attention_gamma", type=float, default=0.0)
    parser.add_argument("--forms", choices=("plain", "rewritten"), default="plain")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    studiogan_step.check_studiogan_src(parser, args.studiogan_src)
    if args.side == "torch":
        return torch_side(args)
    npz = args.torch_npz
    if npz is None:
        if not args.torch_python:
            parser.error("Give `--torch_python` (or `--torch_npz`).")
        npz = os.path.join(tempfile.mkdtemp(prefix="studiogan_update_"), "torch.npz")
        cmd = [args.torch_python, os.path.abspath(__file__), "--side=torch", f"--out={npz}",
               f"--studiogan_src={args.studiogan_src}", f"--conv_dim={args.conv_dim}",
               f"--batch_size={args.batch_size}", f"--sgd_lr={args.sgd_lr}",
               f"--attention_gamma={args.attention_gamma}", f"--seed={args.seed}",
               f"--threads={args.threads}"]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"The torch side exited {done.returncode}:\n"
                               f"{done.stderr[-3000:]}")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with np.load(npz) as data:
        report = our_side(args, data)
    print_report(report)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
