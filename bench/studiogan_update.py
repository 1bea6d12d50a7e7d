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

Known differences, each named and measured rather than hidden:

- StudioGAN's D shortcut: its config's `nn.ReLU(inplace=True)` in `DiscBlock.forward`
  (`x0 = x; x = self.activation(x)`) rewrites x, so the shortcut of every D block after
  the first gets ReLU(x), not x (with `apply_d_sn` there is no BN in between to make a
  copy). Ours, the paper's and the SAGAN authors' shortcut take x. This changes D's
  function (the logits at init differ by more than half their size), so the update
  comparison that means something is against "relu_copy", StudioGAN with ReLUs that
  write a new tensor: then D's forward agrees to float rounding.
- The embedding's power iteration: torch's `spectral_norm` on StudioGAN's
  `nn.Embedding` [classes, width] keeps u over the classes (dim 0), as the SAGAN authors'
  TF `sn_embedding` does (it normalizes the transposed map); our `SpectralEmbedding`
  keeps u over the width. At init (orthogonal rows, E E^T = I) our u = pinv(E) u_torch
  gives the same sigma and the same gradient, so the D step agrees; after D's update E
  is no longer orthogonal and the two one-step estimates in the G step's D(G(z)) differ
  to first order in the update. "relu_copy_embedding_sn_dim1" removes it.
- BN moving variance: Keras updates it with the batch's biased variance, torch's
  BatchNorm2d with the unbiased one (x n / (n - 1), n = N * H * W). The figures give
  the difference as is and after that factor is applied to ours.
- Adam's epsilon: Keras adds it to sqrt(v), torch to sqrt(v) / sqrt(1 - beta2^t); the
  torch side's epsilon is Keras' 1e-7 / sqrt(1 - beta2), the same at the first step.
  That step is lr * g / (|g| + 3.2e-7) (beta1 = 0): a sign step, so an element whose
  gradient is within the two sides' float32 difference of 0 can step opposite ways.
  The figures count those elements ("opposite steps").
- G's conv biases inside the residual blocks reach the loss only through batch norms
  (see `BIASES_BEFORE_BN`): their gradient is 0 up to rounding on both sides, so they
  are a group of their own, and under Adam they take steps of arbitrary sign.
- Attention at StudioGAN's init (`sigma` = 0) gives its 1x1 convs no gradient in one
  step; `--attention_gamma=0.5` starts both sides at 0.5 so that they move.

Prints the CPU, the versions, the figures, and a JSON line last.
"""

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
NUM_CLASSES, Z_DIM, BOTTOM, RESOLUTION = 10, 128, 4, 32
D_DOWNSAMPLE = (True, True, False, False)  # StudioGAN's and our 32x32 D
BN_MOMENTUM = 0.9  # ours; torch's momentum 0.1
BN_EPSILON = 1e-4  # StudioGAN's batchnorm_2d
ADAM = {"d_lr": 4e-4, "g_lr": 1e-4, "beta_1": 0.0, "beta_2": 0.9, "keras_epsilon": 1e-7}
# StudioGAN as it is, then controls (see the docstring): D's ReLUs not in place, also its
# projection embedding's spectral norm along dim 1, and that in float64 (the scale of
# float32 rounding in one step). (inplace_relu, embedding SN dim, dtype).
VARIANTS = {"studiogan": (True, 0, "float32"), "relu_copy": (False, 0, "float32"),
            "relu_copy_embedding_sn_dim1": (False, 1, "float32"),
            "relu_copy_embedding_sn_dim1_float64": (False, 1, "float64")}
OPTIMIZERS = ("sgd", "adam")
VARIANT_NAMES = {"studiogan": "StudioGAN as it is",
                 "relu_copy": "StudioGAN, D's ReLUs not in place",
                 "relu_copy_embedding_sn_dim1": "StudioGAN, D's ReLUs not in place and its "
                                                "embedding's SN along dim 1",
                 "relu_copy_embedding_sn_dim1_float64": "the same in float64"}


# -- weight layouts (NumPy only; tests/bench/test_studiogan_update.py) ----------------

def conv_kernel(w_oihw):
    """torch's conv weight [out, in, kh, kw] as a Keras kernel [kh, kw, in, out]."""
    return np.transpose(w_oihw, (2, 3, 1, 0))


def dense_kernel(w_out_in):
    """torch's linear weight [out, in] as a Keras kernel [in, out]."""
    return np.transpose(w_out_in)


def nchw_to_nhwc_order(channels, size):
    """perm with ours[j] = torch[perm[j]] for a flat [channels * size * size] vector that
    torch views as [C, H, W] and we reshape to [H, W, C] (G's first linear layer)."""
    return np.arange(channels * size * size).reshape(channels, size, size).transpose(
        1, 2, 0).reshape(-1)


def embedding_u(embeddings, u_torch):
    """Our `SpectralEmbedding` u (over the width) for torch's u (over the classes) of
    the [classes, width] map E: the unit u whose half step normalize(E u) is u_torch,
    u = pinv(E) u_torch normalized (exact for E of full row rank)."""
    u = np.linalg.pinv(embeddings.astype(np.float64)) @ u_torch.astype(np.float64)
    return (u / np.linalg.norm(u)).astype(np.float32)


def _sn_layer(state, key, path, kernel_fn):
    out = {f"{path}/kernel": kernel_fn(state[key + ".weight_orig"]),
           f"{path}/sn_u": state[key + ".weight_u"][None]}
    if key + ".bias" in state:
        out[f"{path}/bias"] = state[key + ".bias"]
    return out


def _attention(state, prefix, path):
    out = {f"{path}/gamma": np.asarray(state[prefix + "sigma"]).reshape(())}
    for torch_name, ours in (("conv1x1_phi", "f"), ("conv1x1_theta", "g"),
                             ("conv1x1_g", "h"), ("conv1x1_attn", "v")):
        out.update(_sn_layer(state, prefix + torch_name, f"{path}/{ours}", conv_kernel))
    return out


def _block_indices(state):
    return sorted({int(k.split(".")[1]) for k in state if k.startswith("blocks.")})


def generator_weights(state):
    """StudioGAN's G state dict (NumPy arrays) as our generator's variables, by path."""
    channels = state["linear0.bias"].shape[0] // (BOTTOM * BOTTOM)
    perm = nchw_to_nhwc_order(channels, BOTTOM)
    out = {"dense/kernel": dense_kernel(state["linear0.weight_orig"])[:, perm],
           "dense/bias": state["linear0.bias"][perm],
           "dense/sn_u": state["linear0.weight_u"][perm][None]}
    blocks = 0
    for i in _block_indices(state):
        prefix = f"blocks.{i}.0."
        if prefix + "sigma" in state:
            out.update(_attention(state, prefix, f"attention{BOTTOM * 2 ** blocks}"))
            continue
        blocks += 1
        name = f"block{blocks}"
        for torch_name, ours in (("conv2d1", "conv_1"), ("conv2d2", "conv_2"),
                                 ("conv2d0", "conv_shortcut")):
            out.update(_sn_layer(state, prefix + torch_name, f"{name}/{ours}", conv_kernel))
        for j in (1, 2):
            bn, cbn = f"{prefix}bn{j}.", f"{name}/cbn_{j}"
            for part in ("gain", "bias"):
                out[f"{cbn}/{part}/embeddings"] = dense_kernel(state[f"{bn}{part}.weight_orig"])
                out[f"{cbn}/{part}/sn_u"] = state[f"{bn}{part}.weight_u"][None]
            out[f"{cbn}/bn/moving_mean"] = state[f"{bn}bn.running_mean"]
            out[f"{cbn}/bn/moving_variance"] = state[f"{bn}bn.running_var"]
    out.update({"bn_out/gamma": state["bn4.weight"], "bn_out/beta": state["bn4.bias"],
                "bn_out/moving_mean": state["bn4.running_mean"],
                "bn_out/moving_variance": state["bn4.running_var"]})
    out.update(_sn_layer(state, "conv2d5", "conv_out", conv_kernel))
    return out


def discriminator_weights(state, embedding_sn_dim=0):
    """StudioGAN's D state dict as our discriminator's variables, by path.
    `embedding_sn_dim`: the axis of torch's `spectral_norm` on the projection
    embedding (0: StudioGAN's, u over the classes, mapped by `embedding_u`; 1: u over
    the width, ours as it is)."""
    out, blocks, size = {}, 0, RESOLUTION
    for i in _block_indices(state):
        prefix = f"blocks.{i}.0."
        if prefix + "sigma" in state:
            out.update(_attention(state, prefix, f"attention{size}"))
            continue
        size = size // 2 if D_DOWNSAMPLE[blocks] else size
        blocks += 1
        for torch_name, ours in (("conv2d1", "conv_1"), ("conv2d2", "conv_2"),
                                 ("conv2d0", "conv_shortcut")):
            if prefix + torch_name + ".weight_orig" in state:
                out.update(_sn_layer(state, prefix + torch_name, f"block{blocks}/{ours}",
                                     conv_kernel))
    out.update(_sn_layer(state, "linear1", "projection/psi", dense_kernel))
    embeddings = state["embedding.weight_orig"]
    u = state["embedding.weight_u"]
    out["projection/embed/embeddings"] = embeddings
    out["projection/embed/sn_u"] = (embedding_u(embeddings, u) if embedding_sn_dim == 0
                                    else u)[None]
    return out


def bn_sizes(batch_size, g_blocks=3):
    """n = N * H * W of each of our generator's batch norms, by moving-variance path."""
    sizes = {}
    for b in range(1, g_blocks + 1):
        for j, res in ((1, BOTTOM * 2 ** (b - 1)), (2, BOTTOM * 2 ** b)):
            sizes[f"block{b}/cbn_{j}/bn/moving_variance"] = batch_size * res * res
    sizes["bn_out/moving_variance"] = batch_size * RESOLUTION * RESOLUTION
    return sizes


def unbiased_moving_variance(moving, n, updates, momentum=BN_MOMENTUM, initial=1.0):
    """The moving variance torch's BatchNorm2d would hold after `updates` training
    calls from `initial`, given ours (Keras', updated with the biased batch variance):
    each batch's term scaled by n / (n - 1)."""
    decay = momentum ** updates
    return decay * initial + (moving - decay * initial) * n / (n - 1)


def differences(ours, theirs, initial, network="D"):
    """Per group of variables (`group_of`) of `ours` against `theirs` (path -> array,
    ours mapped from StudioGAN's), both updated from `initial`: max |ours - theirs|,
    max |theirs - initial| (the step), the norms ||ours - theirs|| / ||theirs - initial||
    ("rel_step") and ||ours - theirs|| / ||theirs|| ("rel_weights") over the group, the
    variable whose difference is largest relative to its own step, and the elements
    whose steps went opposite ways ("opposite_steps", of "elements"), with max |ours -
    theirs| over the others ("max_abs_same_direction")."""
    result = {}
    for path in sorted(ours):
        diff = np.abs(ours[path] - theirs[path]).astype(np.float64)
        step = np.abs(theirs[path] - initial[path]).astype(np.float64)
        g = result.setdefault(group_of(path, network), {
            "max_abs": 0.0, "max_step": 0.0, "sq_diff": 0.0, "sq_step": 0.0,
            "sq_weights": 0.0, "worst": None, "worst_rel_step": -1.0, "elements": 0,
            "opposite_steps": 0, "max_abs_same_direction": 0.0})
        opposite = (ours[path] - initial[path]) * (theirs[path] - initial[path]) < 0
        g["elements"] += int(diff.size)
        g["opposite_steps"] += int(np.sum(opposite))
        g["max_abs_same_direction"] = max(g["max_abs_same_direction"],
                                          float(np.max(diff[~opposite], initial=0.0)))
        g["max_abs"] = max(g["max_abs"], float(np.max(diff, initial=0.0)))
        g["max_step"] = max(g["max_step"], float(np.max(step, initial=0.0)))
        g["sq_diff"] += float(np.sum(diff ** 2))
        g["sq_step"] += float(np.sum(step ** 2))
        g["sq_weights"] += float(np.sum(np.asarray(theirs[path], np.float64) ** 2))
        norm_diff, norm_step = np.linalg.norm(diff), np.linalg.norm(step)
        rel = norm_diff / norm_step if norm_step else (0.0 if not norm_diff else np.inf)
        if rel > g["worst_rel_step"]:
            g["worst"], g["worst_rel_step"] = path, float(rel)
    for g in result.values():
        diff, step, weights = (np.sqrt(g.pop(k)) for k in ("sq_diff", "sq_step", "sq_weights"))
        g["rel_step"] = float(diff / step) if step else None
        g["rel_weights"] = float(diff / weights) if weights else None
    return result


#: G's conv biases inside the residual blocks: every path from them ends in a batch
#: norm (the shortcuts are 1x1 convs and nearest upsampling, which keep a per-channel
#: constant a constant; attention with gain 0 is the identity), so their gradient is 0
#: in exact arithmetic and what each side computes is rounding.
BIASES_BEFORE_BN = re.compile(r"^block\d+/conv_(1|2|shortcut)/bias$")


def group_of(path, network="D"):
    """"sn_u", "bn_moving_mean", "bn_moving_variance", "biases_before_bn" (G's) or
    "weights"."""
    if path.endswith("/sn_u"):
        return "sn_u"
    if "/moving_" in path:
        return "bn_" + path.rsplit("/", 1)[1]
    if network == "G" and BIASES_BEFORE_BN.match(path):
        return "biases_before_bn"
    return "weights"


# -- the torch side (run in --torch_python) -------------------------------------------

def torch_side(args):
    sys.path.insert(0, HERE)
    import studiogan_step
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


def print_report(r):
    print(f"CPU: {r['cpu']}")
    print(f"Python {r['python']}, TensorFlow {r['tensorflow']}, Keras {r['keras']}, "
          f"torch {r['torch']}, NumPy {r['numpy']}, sagan_tf {r['sagan_tf']}")
    print(f"conv_dim {r['conv_dim']} (G {4 * r['conv_dim']} channels, D "
          f"{2 * r['conv_dim']}), batch {r['batch_size']}, forms {r['forms']}, attention "
          f"gamma at start {r['attention_gamma']}")
    for variant, f in r["forward"].items():
        print(f"forward before any update (training mode), against {VARIANT_NAMES[variant]}: "
              f"G images max |diff| {f['G_max_abs']:.2e}; D logits max |diff| "
              f"{f['D_max_abs']:.2e} (max |logit| {f['D_max_abs_logit']:.2f})")
    for kind in OPTIMIZERS:
        lr = (f"SGD lr {r['sgd_lr']}" if kind == "sgd" else
              f"Adam D {ADAM['d_lr']}, G {ADAM['g_lr']}, betas ({ADAM['beta_1']}, "
              f"{ADAM['beta_2']})")
        for variant, v in r[kind].items():
            if variant in VARIANT_NAMES:
                print(f"{lr}, ours against {VARIANT_NAMES[variant]}: L_D ours "
                      f"{v['d_loss'][0]:.6f} / theirs {v['d_loss'][1]:.6f}, L_G "
                      f"{v['g_loss'][0]:.6f} / {v['g_loss'][1]:.6f}")
            else:
                print(f"{lr}, StudioGAN (ReLUs not in place, embedding SN dim 1) float32 "
                      "against the same in float64:")
            for net in ("D", "G"):
                for group, s in v[net].items():
                    rel_step, rel_w = (("n/a" if s[k] is None else f"{s[k]:.1e}")
                                       for k in ("rel_step", "rel_weights"))
                    print(f"  {net} {group:28s} max |diff| {s['max_abs']:.1e} (max step "
                          f"{s['max_step']:.1e}); ||diff||/||step|| {rel_step}, "
                          f"||diff||/||w|| {rel_w}; worst {s['worst']}; opposite steps "
                          f"{s['opposite_steps']} of {s['elements']}, max |diff| over "
                          f"the rest {s['max_abs_same_direction']:.1e}")


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
    if not os.path.isfile(os.path.join(args.studiogan_src, "models", "resnet.py")):
        parser.error("`--studiogan_src` must be the src folder of a PyTorch-StudioGAN "
                     f"checkout (with models/resnet.py). Received: {args.studiogan_src}")
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
