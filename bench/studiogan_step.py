"""Benchmark: StudioGAN's SAGAN training iteration on this machine, for side-by-side ratios.

    python bench/studiogan_step.py --studiogan_src=PATH/PyTorch-StudioGAN/src
        [--batch_size=64] [--iters=10] [--warmup=3]

Run it with a Python that has PyTorch (CPU) and StudioGAN's requirements other than
torchvision (scipy, tqdm, seaborn, matplotlib; torchvision is only imported by
StudioGAN's data and image-saving helpers, which this script never calls, so a
placeholder module stands in for it). StudioGAN itself is not a dependency of this
package and none of its code is here: `--studiogan_src` is the `src` folder of a
checkout of https://github.com/POSTECH-CVLab/PyTorch-StudioGAN.

It builds StudioGAN's `models/resnet.py` Generator and Discriminator with the settings
of its `src/configs/CIFAR10/SAGAN.yaml` over its defaults (32x32, 10 classes, z 128,
g_conv_dim = d_conv_dim = 64, so G has 256 channels and D 128, like our `sagan32`;
conditional BN in G, projection in D, spectral norm in both, attention after G's
second and D's first block, orthogonal init, hinge loss, Adam) and times what
`worker.py` does for one D step and one G step, the same iteration as
`bench/train_step.py`: D on a real batch and on G's fakes (G without gradients), the
hinge loss, backward and Adam; then G's fakes through D, G's hinge loss, backward and
Adam. StudioGAN's own default runs 5 D steps per G step; the D-step and G-step medians
are printed too, so that any ratio can be composed. float32 only: StudioGAN's mixed
precision is CUDA autocast.

The last line printed is JSON.
"""

import argparse
import json
import os
import sys
import time
import types


def _placeholder_torchvision():
    """A stand-in for the torchvision names StudioGAN's utils import at module level."""
    tv = types.ModuleType("torchvision")
    tv.datasets = types.ModuleType("torchvision.datasets")
    tv.datasets.CIFAR10 = tv.datasets.CIFAR100 = tv.datasets.ImageFolder = object
    tv.utils = types.ModuleType("torchvision.utils")
    tv.utils.save_image = tv.utils.make_grid = None
    tv.transforms = types.ModuleType("torchvision.transforms")
    tv.transforms.functional = types.ModuleType("torchvision.transforms.functional")
    tv.models = types.ModuleType("torchvision.models")
    tv.io = types.ModuleType("torchvision.io")
    for name, module in (("", tv), (".datasets", tv.datasets), (".utils", tv.utils),
                         (".transforms", tv.transforms), (".models", tv.models),
                         (".io", tv.io),
                         (".transforms.functional", tv.transforms.functional)):
        sys.modules.setdefault("torchvision" + name, module)


def networks(src, g_conv_dim=64, d_conv_dim=64, inplace_relu=True):
    """StudioGAN's `models/resnet.py` G and D with the CIFAR-10 SAGAN config's settings
    (see the module docstring), imported from `src`; returns `(gen, dis, torch, losses)`
    with StudioGAN's `utils.losses` module. Also used by `bench/studiogan_update.py` at
    a small width. `inplace_relu`: StudioGAN's `nn.ReLU(inplace=True)` (its config's
    "ReLU"); False gives ReLUs that write a new tensor, a control for that script."""
    if src not in sys.path:
        sys.path.insert(0, src)
    _placeholder_torchvision()
    import torch
    import torch.nn as nn
    import models.resnet as resnet
    import utils.losses as losses
    import utils.ops as ops

    modules = types.SimpleNamespace(
        g_conv2d=ops.snconv2d, g_deconv2d=ops.sndeconv2d, g_linear=ops.snlinear,
        g_embedding=ops.sn_embedding, d_conv2d=ops.snconv2d, d_deconv2d=ops.sndeconv2d,
        d_linear=ops.snlinear, d_embedding=ops.sn_embedding,
        g_bn=ops.ConditionalBatchNorm2d, g_act_fn=nn.ReLU(inplace=inplace_relu),
        d_act_fn=nn.ReLU(inplace=inplace_relu))
    model = types.SimpleNamespace(info_type="N/A", g_info_injection="N/A", backbone="resnet")
    gen = resnet.Generator(z_dim=128, g_shared_dim="N/A", img_size=32, g_conv_dim=g_conv_dim,
                           apply_attn=True, attn_g_loc=[2], g_cond_mtd="cBN",
                           num_classes=10, g_init="ortho", g_depth="N/A",
                           mixed_precision=False, MODULES=modules, MODEL=model)
    dis = resnet.Discriminator(img_size=32, d_conv_dim=d_conv_dim, apply_d_sn=True,
                               apply_attn=True, attn_d_loc=[1], d_cond_mtd="PD",
                               aux_cls_type="W/O", d_embed_dim="N/A",
                               normalize_d_embed=False, num_classes=10, d_init="ortho",
                               d_depth="N/A", mixed_precision=False, MODULES=modules,
                               MODEL=model)
    return gen, dis, torch, losses


def build(src, batch_size):
    gen, dis, torch, losses = networks(src)
    g_opt = torch.optim.Adam(gen.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-6)
    d_opt = torch.optim.Adam(dis.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-6)
    torch.manual_seed(0)
    real = torch.rand(batch_size, 3, 32, 32) * 2 - 1
    real_labels = torch.randint(0, 10, (batch_size,))

    def toggle(net, grad):
        for p in net.parameters():
            p.requires_grad = grad

    def d_step():
        toggle(gen, False)
        toggle(dis, True)
        d_opt.zero_grad()
        z = torch.randn(batch_size, 128)
        y = torch.randint(0, 10, (batch_size,))
        fake = gen(z, y)
        loss = losses.d_hinge(dis(real, real_labels)["adv_output"],
                              dis(fake, y)["adv_output"], DDP=False)
        loss.backward()
        d_opt.step()
        return loss.item()

    def g_step():
        toggle(dis, False)
        toggle(gen, True)
        g_opt.zero_grad()
        z = torch.randn(batch_size, 128)
        y = torch.randint(0, 10, (batch_size,))
        loss = losses.g_hinge(dis(gen(z, y), y)["adv_output"], DDP=False)
        loss.backward()
        g_opt.step()
        return loss.item()

    gen.train()
    dis.train()
    return d_step, g_step, torch


def check_studiogan_src(parser, path):
    """`parser.error` unless `path` is the src folder of a StudioGAN checkout."""
    if not os.path.isfile(os.path.join(path, "models", "resnet.py")):
        parser.error("`--studiogan_src` must be the src folder of a PyTorch-StudioGAN "
                     f"checkout (with models/resnet.py). Received: {path}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--studiogan_src", required=True,
                        help="the src folder of a PyTorch-StudioGAN checkout")
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    check_studiogan_src(parser, args.studiogan_src)
    d_step, g_step, torch = build(os.path.abspath(args.studiogan_src), args.batch_size)
    for _ in range(args.warmup):
        d_step(), g_step()
    d_times, g_times, iters = [], [], []
    for _ in range(args.iters):
        start = time.perf_counter()
        d_step()
        middle = time.perf_counter()
        g_step()
        end = time.perf_counter()
        d_times.append(middle - start)
        g_times.append(end - middle)
        iters.append(end - start)

    def median(values):
        values = sorted(values)
        mid = len(values) // 2
        return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2

    result = {"batch_size": args.batch_size, "torch": torch.__version__,
              "threads": torch.get_num_threads(), "s_per_iter": round(median(iters), 4),
              "s_per_d_step": round(median(d_times), 4),
              "s_per_g_step": round(median(g_times), 4)}
    print(f"StudioGAN SAGAN (CIFAR-10 config) float32 on CPU ({torch.get_num_threads()} "
          f"threads), batch {args.batch_size}: {result['s_per_iter']:.3f} s per iteration "
          f"(1 D step {result['s_per_d_step']:.3f} s + 1 G step "
          f"{result['s_per_g_step']:.3f} s)")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
