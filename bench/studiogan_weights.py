"""The weight layouts between StudioGAN's (torch) SAGAN and sagan_tf's, and how the two
sides' variables are compared, for bench/studiogan_update.py (NumPy only, so that
tests/bench/test_studiogan_weights.py runs without torch).
"""

import re

import numpy as np

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


# -- weight layouts (NumPy only; tests/bench/test_studiogan_weights.py) ----------------

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


VARIANT_NAMES = {"studiogan": "StudioGAN as it is",
                 "relu_copy": "StudioGAN, D's ReLUs not in place",
                 "relu_copy_embedding_sn_dim1": "StudioGAN, D's ReLUs not in place and its "
                                                "embedding's SN along dim 1",
                 "relu_copy_embedding_sn_dim1_float64": "the same in float64"}


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
