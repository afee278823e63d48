#!/usr/bin/env python
"""Measure the peers' numbers for docs/peer-numbers.md: this script only measures, into JSON.

Needs torch, torchvision, torchinfo, fvcore, ptflops and thop (a separate virtualenv:
    pip install torch==2.14.1 torchvision==0.29.1 torchinfo fvcore ptflops thop), then:
    python benchmarks/peer_numbers.py [MODEL ...]

Writes benchmarks/data/peer_numbers.json (committed). The Markdown is rendered from that file by
benchmarks/render_peer_numbers.py, with no number typed in; tests/test_peer_numbers.py checks that
docs/peer-numbers.md is exactly its rendering. A peer that is not installed is recorded as such in
the JSON, and the rendering says so.

All counts are for batch size 1, eval mode, weights=None (architecture only).
"MACs" (flop_counter) = torch.utils.flop_counter.FlopCounterMode total / 2; that
counter only sees matmul-like ops (aten.convolution, aten.addmm/mm/bmm, ...),
so it equals the multiply-accumulates of conv + linear layers, bias excluded.
"""
from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import platform
import re
import sys
import time
import warnings
from collections import defaultdict

import torch
import torch.nn as nn
import torchvision
import torchvision.models as tvm
from torch.utils.flop_counter import FlopCounterMode

warnings.filterwarnings("ignore")
torch.set_num_threads(2)

OUT_JSON = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "peer_numbers.json")

# ----------------------------------------------------------------------------
# Models
# ----------------------------------------------------------------------------


class LeNet5(nn.Module):
    """Classic LeNet-5 (LeCun 1998) with parameter-free subsampling.

    conv 6@5x5 on 1x32x32 -> pool 2 -> conv 16@5x5 -> pool 2 -> conv 120@5x5
    -> fc 84 -> fc 10, tanh activations.  (The 1998 paper's S2/S4 layers had a
    trainable coefficient+bias per map and C3 used a partial connection table;
    the modern textbook variant below is the one with 61,706 params.)
    """

    def __init__(self, pool: str = "avg"):
        super().__init__()
        P = nn.AvgPool2d if pool == "avg" else nn.MaxPool2d
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5), nn.Tanh(), P(2),
            nn.Conv2d(6, 16, 5), nn.Tanh(), P(2),
            nn.Conv2d(16, 120, 5), nn.Tanh(),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(120, 84), nn.Tanh(), nn.Linear(84, 10)
        )

    def forward(self, x):
        return self.classifier(self.features(x))


def _tv(name, **kw):
    def build():
        return getattr(tvm, name)(weights=None, **kw)
    return build


# name -> (builder, input CHW, torchvision weights enum name for published meta)
MODELS = {
    "alexnet": (_tv("alexnet"), (3, 224, 224), "AlexNet_Weights"),
    "vgg11": (_tv("vgg11"), (3, 224, 224), "VGG11_Weights"),
    "vgg16": (_tv("vgg16"), (3, 224, 224), "VGG16_Weights"),
    "vgg16_bn": (_tv("vgg16_bn"), (3, 224, 224), "VGG16_BN_Weights"),
    "resnet18": (_tv("resnet18"), (3, 224, 224), "ResNet18_Weights"),
    "resnet34": (_tv("resnet34"), (3, 224, 224), "ResNet34_Weights"),
    "resnet50": (_tv("resnet50"), (3, 224, 224), "ResNet50_Weights"),
    "resnet101": (_tv("resnet101"), (3, 224, 224), "ResNet101_Weights"),
    "googlenet": (_tv("googlenet", aux_logits=False, init_weights=False), (3, 224, 224), "GoogLeNet_Weights"),
    "googlenet_aux": (_tv("googlenet", aux_logits=True, init_weights=False), (3, 224, 224), None),
    "inception_v3": (_tv("inception_v3", aux_logits=False, init_weights=False), (3, 299, 299), "Inception_V3_Weights"),
    "inception_v3_aux": (_tv("inception_v3", aux_logits=True, init_weights=False), (3, 299, 299), None),
    "densenet121": (_tv("densenet121"), (3, 224, 224), "DenseNet121_Weights"),
    "mobilenet_v2": (_tv("mobilenet_v2"), (3, 224, 224), "MobileNet_V2_Weights"),
    "squeezenet1_0": (_tv("squeezenet1_0"), (3, 224, 224), "SqueezeNet1_0_Weights"),
    "squeezenet1_1": (_tv("squeezenet1_1"), (3, 224, 224), "SqueezeNet1_1_Weights"),
    "mobilenet_v3_small": (_tv("mobilenet_v3_small"), (3, 224, 224), "MobileNet_V3_Small_Weights"),
    "efficientnet_b0": (_tv("efficientnet_b0"), (3, 224, 224), "EfficientNet_B0_Weights"),
    "shufflenet_v2_x1_0": (_tv("shufflenet_v2_x1_0"), (3, 224, 224), "ShuffleNet_V2_X1_0_Weights"),
    "lenet5": (lambda: LeNet5("avg"), (1, 32, 32), None),
    "lenet5_maxpool": (lambda: LeNet5("max"), (1, 32, 32), None),
}

LAYER_DUMP_MODELS = ["resnet50", "vgg16", "googlenet", "mobilenet_v2", "densenet121"]
# The default run: the torchvision counterparts of the shipped specs, LeNet-5, and GoogLeNet with its
# auxiliary heads (they never run in eval). Name models on the command line for others in MODELS.
DEFAULT_MODELS = ["lenet5", "alexnet", "vgg16", "resnet18", "resnet50", "googlenet", "googlenet_aux",
                  "densenet121", "mobilenet_v2", "squeezenet1_1", "mobilenet_v3_small"]


def fresh(name):
    torch.manual_seed(0)
    m = MODELS[name][0]()
    m.eval()
    return m


def x_for(name):
    torch.manual_seed(1)
    return torch.randn(1, *MODELS[name][1])


# ----------------------------------------------------------------------------
# Tools
# ----------------------------------------------------------------------------


def m_flop_counter(name):
    m, x = fresh(name), x_for(name)
    with torch.no_grad(), FlopCounterMode(display=False) as fc:
        y = m(x)
    total = fc.get_total_flops()
    by_op = defaultdict(int)
    for k, v in fc.get_flop_counts().get("Global", {}).items():
        by_op[str(k)] += v
    assert total % 2 == 0
    return {
        "flops": total,
        "macs": total // 2,
        "by_op_flops": dict(by_op),
        "output_shape": list(y.shape),
    }


def m_params(name):
    m = fresh(name)
    params = sum(p.numel() for p in m.parameters())
    trainable = sum(p.numel() for p in m.parameters() if p.requires_grad)
    buffers = sum(b.numel() for b in m.buffers())
    nbt = sum(b.numel() for n, b in m.named_buffers() if n.endswith("num_batches_tracked"))
    bn = [mod for mod in m.modules() if isinstance(mod, nn.modules.batchnorm._BatchNorm)]
    return {
        "params": params,
        "trainable_params": trainable,
        "buffers": buffers,
        "buffers_float": buffers - nbt,  # running_mean + running_var
        "num_batches_tracked": nbt,
        "n_batchnorm": len(bn),
        "param_bytes_fp32": 4 * params,
    }


def m_torchinfo(name):
    import torchinfo
    m = fresh(name)
    s = torchinfo.summary(m, input_size=(1, *MODELS[name][1]), verbose=0, device="cpu")
    text = str(s)
    mb = {}
    for line in text.splitlines():
        mm = re.match(r"^(.*\(MB\)):\s*([0-9.]+)\s*$", line)
        if mm:
            mb[mm.group(1)] = mm.group(2)  # keep printed string, e.g. "103.43"
    tm = re.search(r"Total mult-adds \(([^)]*)\): ([0-9.]+)", text)
    leaf_out_all = 0
    leaf_out_param = 0
    for li in s.summary_list:
        if li.is_leaf_layer:
            leaf_out_all += li.output_bytes
            if li.num_params > 0:
                leaf_out_param += li.output_bytes
    return {
        "total_params": s.total_params,
        "trainable_params": s.trainable_params,
        "total_mult_adds": s.total_mult_adds,
        "total_mult_adds_printed": f"Total mult-adds ({tm.group(1)}): {tm.group(2)}" if tm else None,
        "total_input_bytes": s.total_input,
        "total_output_bytes": s.total_output_bytes,  # = 2 * sum(output bytes of leaf layers with params)
        "total_param_bytes": s.total_param_bytes,
        "leaf_output_bytes_all_leaves": leaf_out_all,
        "leaf_output_bytes_param_leaves": leaf_out_param,
        "printed_MB": mb,
    }


def m_fvcore(name):
    from fvcore.nn import FlopCountAnalysis
    m, x = fresh(name), x_for(name)
    with torch.no_grad():
        fa = FlopCountAnalysis(m, x)
        fa.unsupported_ops_warnings(False)
        fa.uncalled_modules_warnings(False)
        total = fa.total()
        by_op = dict(fa.by_operator())
        unsup = {k: v for k, v in fa.unsupported_ops().items()}
    return {"total": int(total), "by_operator": {k: int(v) for k, v in by_op.items()},
            "unsupported_ops": unsup}


def m_ptflops(name, backend):
    from ptflops import get_model_complexity_info
    m = fresh(name)
    with torch.no_grad(), contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        macs, params = get_model_complexity_info(
            m, tuple(MODELS[name][1]), as_strings=False, print_per_layer_stat=False,
            backend=backend)
    return {"macs": None if macs is None else int(macs), "params": None if params is None else int(params)}


def m_thop(name):
    from thop import profile
    m, x = fresh(name), x_for(name)
    with torch.no_grad(), contextlib.redirect_stdout(io.StringIO()):
        macs, params = profile(m, inputs=(x,), verbose=False)
    return {"macs": int(round(float(macs))), "params": int(round(float(params))),
            "macs_raw": float(macs)}


def published(enum_name):
    if enum_name is None:
        return None
    W = getattr(tvm, enum_name)
    out = {}
    for w in W:
        meta = w.meta
        out[w.name] = {"num_params": meta.get("num_params"), "GFLOPS": meta.get("_ops"),
                       "file_size_MB": meta.get("_file_size"),
                       "min_size": list(meta.get("min_size", ()))}
    return out


# ----------------------------------------------------------------------------
# LeNet-5 by hand
# ----------------------------------------------------------------------------

def lenet_by_hand():
    rows = []

    def conv(name, cin, cout, k, hout):
        p = cout * cin * k * k + cout
        macs = cout * hout * hout * cin * k * k
        rows.append({"layer": name, "params": p, "macs": macs,
                     "out": [cout, hout, hout], "formula_params": f"{cout}*{cin}*{k}*{k}+{cout}",
                     "formula_macs": f"{cout}*{hout}*{hout}*{cin}*{k}*{k}"})

    def fc(name, fin, fout):
        rows.append({"layer": name, "params": fin * fout + fout, "macs": fin * fout, "out": [fout],
                     "formula_params": f"{fin}*{fout}+{fout}", "formula_macs": f"{fin}*{fout}"})

    conv("C1 conv 6@5x5", 1, 6, 5, 28)
    rows.append({"layer": "S2 pool 2x2/2", "params": 0, "macs": 0, "out": [6, 14, 14]})
    conv("C3 conv 16@5x5", 6, 16, 5, 10)
    rows.append({"layer": "S4 pool 2x2/2", "params": 0, "macs": 0, "out": [16, 5, 5]})
    conv("C5 conv 120@5x5", 16, 120, 5, 1)
    fc("F6 fc 84", 120, 84)
    fc("output fc 10", 84, 10)
    return {"layers": rows, "params": sum(r["params"] for r in rows),
            "macs": sum(r["macs"] for r in rows),
            "bias_adds": 6 * 28 * 28 + 16 * 10 * 10 + 120 + 84 + 10,
            "pool_input_elems": 6 * 28 * 28 + 16 * 10 * 10,
            "tanh_elems": 6 * 28 * 28 + 16 * 10 * 10 + 120 + 84}


# ----------------------------------------------------------------------------
# Receptive fields
# ----------------------------------------------------------------------------

def _pair(v):
    return v if isinstance(v, (tuple, list)) else (v, v)


def analytic_rf(modules):
    """Standard recursion: r_out = r_in + (k-1)*j_in, j_out = j_in*s, start = start + ((k-1)/2 - p)*j_in.
    Effective padding P = sum_l p_l * prod_{i<l} s_i (Araujo et al. 2019)."""
    r, j, P = 1, 1, 0
    for mod in modules:
        if isinstance(mod, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            k = _pair(mod.kernel_size)[0]
            s = _pair(mod.stride)[0]
            p = _pair(mod.padding)[0]
            d = _pair(getattr(mod, "dilation", 1))[0]
            keff = d * (k - 1) + 1
            r = r + (keff - 1) * j
            P = P + p * j
            j = j * s
    return {"r": r, "stride": j, "padding": P}


def empirical_rf(features, H):
    """Positive constant conv weights, zero bias, MaxPool -> AvgPool (same geometry),
    gradient of the centre output unit (channel 0) wrt a positive input."""
    net = copy.deepcopy(features).double().eval()
    for i, mod in enumerate(list(net)):
        if isinstance(mod, nn.Conv2d):
            fan_in = mod.in_channels // mod.groups * mod.kernel_size[0] * mod.kernel_size[1]
            nn.init.constant_(mod.weight, 1.0 / fan_in)
            if mod.bias is not None:
                nn.init.zeros_(mod.bias)
        elif isinstance(mod, nn.MaxPool2d):
            net[i] = nn.AvgPool2d(mod.kernel_size, mod.stride, mod.padding, ceil_mode=mod.ceil_mode)
        elif isinstance(mod, nn.ReLU):
            net[i] = nn.ReLU(inplace=False)
    cin = next(m for m in net if isinstance(m, nn.Conv2d)).in_channels

    def support(ci, cj):
        x = torch.ones(1, cin, H, H, dtype=torch.float64, requires_grad=True)
        y = net(x)
        y[0, 0, ci, cj].backward()
        g = x.grad[0].abs().sum(0) > 0
        rows = torch.nonzero(g.any(1)).flatten()
        cols = torch.nonzero(g.any(0)).flatten()
        return y.shape, (int(rows.min()), int(rows.max())), (int(cols.min()), int(cols.max()))

    with torch.no_grad():
        oshape = net(torch.ones(1, cin, H, H, dtype=torch.float64)).shape
    c = oshape[-1] // 2
    _, rr, cc = support(c, c)
    _, rr2, cc2 = support(c, c + 1)
    _, rr0, cc0 = support(0, 0)
    r_h = rr[1] - rr[0] + 1
    r_w = cc[1] - cc[0] + 1
    stride = cc2[0] - cc[0]
    # unit 0 covers [-P, -P + r - 1]; its right edge is not clipped, so P = r - 1 - end
    pad = r_w - 1 - cc0[1]
    return {"input": [1, cin, H, H], "output_shape": list(oshape), "centre_unit": [c, c],
            "support_rows": list(rr), "support_cols": list(cc), "r": r_w, "r_h": r_h,
            "stride": stride, "padding": pad,
            "unit00_support_rows": list(rr0), "unit00_support_cols": list(cc0)}


def receptive_fields():
    out = {}
    vgg = tvm.vgg16(weights=None).features
    alex = tvm.alexnet(weights=None).features
    # input sizes large enough that the centre unit's field lies inside the image
    cases = {
        "vgg16_pool5 (features[:31])": (vgg[:31], 224),
        "alexnet_pool5 (features[:13])": (alex[:13], 300),
    }
    for k, (f, size) in cases.items():
        t0 = time.time()
        e = empirical_rf(f, size)
        a = analytic_rf(list(f))
        out[k] = {"empirical": e, "analytic": a, "seconds": round(time.time() - t0, 1)}
        print("RF", k, e["r"], e["stride"], e["padding"], a, flush=True)
    out["published"] = {
        "vgg16_pool5": {"r": 212, "stride": 32, "padding": 90,
                        "source": "Araujo, Norris, Sim, 'Computing Receptive Fields of CNNs', Distill 2019 (TF-slim vgg_16)"},
        "alexnet_v2_pool5": {"r": 195, "stride": 32, "padding": 64,
                             "source": "Araujo, Norris, Sim, Distill 2019, for TF-slim alexnet_v2 (conv1 11x11/4 VALID), not torchvision's alexnet (conv1 padding 2)"},
    }
    return out


# ----------------------------------------------------------------------------
# Per-layer dumps
# ----------------------------------------------------------------------------

def _shape(o):
    if torch.is_tensor(o):
        return list(o.shape)
    if isinstance(o, (tuple, list)):
        return [_shape(v) for v in o]
    return None


def _conv_linear_formula(mod, out_shape):
    if isinstance(mod, nn.Conv2d) and isinstance(out_shape, list) and out_shape and isinstance(out_shape[0], int):
        n, co, h, w = out_shape
        kh, kw = mod.kernel_size
        return n * co * h * w * (mod.in_channels // mod.groups) * kh * kw
    if isinstance(mod, nn.Linear) and isinstance(out_shape, list):
        n = 1
        for d in out_shape[:-1]:
            n *= d
        return n * mod.in_features * mod.out_features
    return None


def layer_dump(name):
    m, x = fresh(name), x_for(name)
    root_cls = type(m).__name__
    path_of = {id(mod): p for p, mod in m.named_modules()}
    shapes, calls = {}, defaultdict(int)

    def hook(mod, inp, out, p=None):
        shapes.setdefault(p, _shape(out))
        calls[p] += 1

    hs = [mod.register_forward_hook(lambda mo, i, o, p=p: hook(mo, i, o, p)) for p, mod in m.named_modules()]
    with torch.no_grad(), FlopCounterMode(display=False) as fc:
        m(x)
    for h in hs:
        h.remove()
    fc_counts = {}
    for k, v in fc.get_flop_counts().items():
        if k == "Global":
            continue
        p = "" if k == root_cls else (k[len(root_cls) + 1:] if k.startswith(root_cls + ".") else k)
        fc_counts[p] = sum(v.values())

    rows = []
    for p, mod in m.named_modules():
        own = sum(t.numel() for t in mod.parameters(recurse=False))
        tot = sum(t.numel() for t in mod.parameters())
        is_leaf = len(list(mod.children())) == 0
        fl = fc_counts.get(p, 0)
        rows.append({
            "path": p,
            "type": type(mod).__name__,
            "leaf": is_leaf,
            "output_shape": shapes.get(p),
            "calls": calls.get(p, 0),
            "params_own": own,
            "params_total": tot,
            "macs_flop_counter": fl // 2,  # inclusive of children
            "macs_formula": _conv_linear_formula(mod, shapes.get(p)) if is_leaf else None,
            "extra": mod.extra_repr() if is_leaf else "",
        })
    # sanity: leaf formula vs flop counter
    mism = [r["path"] for r in rows if r["macs_formula"] is not None and r["macs_formula"] != r["macs_flop_counter"]]
    leaf_sum = sum(r["macs_flop_counter"] for r in rows if r["leaf"])
    root = next(r for r in rows if r["path"] == "")
    doc = {
        "model": name,
        "input_shape": [1, *MODELS[name][1]],
        "torch": torch.__version__, "torchvision": torchvision.__version__,
        "notes": ("One row per module from named_modules() (root = ''). macs_flop_counter and fvcore_flops are "
                  "INCLUSIVE of children; params_own is recurse=False, params_total recurse=True. "
                  "macs_formula = N*Cout*Hout*Wout*(Cin/groups)*kh*kw for Conv2d, N*in*out for Linear (bias excluded)."),
        "totals": {"macs_flop_counter": root["macs_flop_counter"], "sum_leaf_macs_flop_counter": leaf_sum,
                   "params": root["params_total"], "formula_mismatches": mism},
        "layers": rows,
    }
    return doc["totals"]  # the per-module rows are not kept: the totals are what the doc reports



# ----------------------------------------------------------------------------
# Decomposition of tool totals
# ----------------------------------------------------------------------------
from torch.overrides import TorchFunctionMode  # noqa: E402


class FuncTap(TorchFunctionMode):
    def __init__(self, state):
        super().__init__(); self.s = state
    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if self.s["depth"] == 0:
            name = getattr(func, "__name__", str(func))
            a0 = args[0] if args else None
            if torch.is_tensor(a0):
                self.s["fn_in"][name] += a0.numel()
            if torch.is_tensor(out):
                self.s["fn_out"][name] += out.numel()
        return out

def decompose(name):
    m, x = fresh(name), x_for(name)
    st = {"depth": 0, "fn_in": defaultdict(int), "fn_out": defaultdict(int)}
    c = defaultdict(int)
    def pre(mod, inp):
        st["depth"] += 1
    def post(mod, inp, out):
        st["depth"] -= 1
        i = inp[0]; o = out
        if isinstance(mod, nn.Conv2d) and mod.bias is not None: c["conv_bias_adds"] += o.numel()
        if isinstance(mod, nn.Linear) and mod.bias is not None: c["linear_bias_adds"] += o.numel()
        if isinstance(mod, nn.BatchNorm2d):
            c["bn_channels"] += mod.num_features; c["bn_elems"] += i.numel()
        if isinstance(mod, (nn.ReLU, nn.ReLU6)): c["relu_module_elems"] += o.numel()
        if isinstance(mod, (nn.Hardswish, nn.Hardsigmoid, nn.SiLU, nn.Sigmoid, nn.Tanh)): c["other_act_module_elems"] += o.numel()
        if isinstance(mod, (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)): c["pool_module_in_elems"] += i.numel()
        if isinstance(mod, nn.AvgPool2d): c["avgpool_module_out_elems"] += o.numel()
        if isinstance(mod, nn.AdaptiveAvgPool2d):
            k = (i.shape[2] // o.shape[2]) * (i.shape[3] // o.shape[3])
            c["adaptive_thop"] += (k + 1) * o.numel()
            c["adaptive_module_in_elems"] += i.numel()
    hs = []
    for mod in m.modules():
        if len(list(mod.children())) == 0:
            hs += [mod.register_forward_pre_hook(pre), mod.register_forward_hook(post)]
    with torch.no_grad(), FuncTap(st):
        m(x)
    for h in hs: h.remove()
    c["functional_outside_leaf_in"] = dict(st["fn_in"])
    return dict(c)


def add_decomposition(R):
    """Explain each tool's total as REF + extra terms; stores predicted/actual/residual."""
    D = {}
    for name in [k for k in MODELS if k in R]:
        c = decompose(name); r = R[name]; ref = r["flop_counter"]["macs"]
        fv_bo = r["fvcore"].get("by_operator", {})
        import contextlib
        import io

        from ptflops import get_model_complexity_info
        with torch.no_grad(), contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            ptf_nofunc, _ = get_model_complexity_info(fresh(name), tuple(MODELS[name][1]), as_strings=False,
                print_per_layer_stat=False, backend="pytorch", backend_specific_config={"count_functional": False})
        ptf_nofunc = int(ptf_nofunc)
        pred = {
          "torchinfo": ref + c.get("conv_bias_adds",0) + c.get("linear_bias_adds",0) + 2*c.get("bn_channels",0),
          "ptflops_aten": ref + c.get("conv_bias_adds",0) + c.get("linear_bias_adds",0),
          "fvcore": ref + 2*c.get("bn_elems",0) + fv_bo.get("adaptive_avg_pool2d",0),
          "thop": ref + 4*c.get("bn_elems",0) + c.get("avgpool_module_out_elems",0) + c.get("adaptive_thop",0),
          "ptflops_pytorch_count_functional_False": ref + c.get("conv_bias_adds",0) + c.get("linear_bias_adds",0) + 2*c.get("bn_elems",0)
                + c.get("relu_module_elems",0) + c.get("pool_module_in_elems",0),
        }
        act = {"torchinfo": r["torchinfo"].get("total_mult_adds"), "ptflops_aten": r["ptflops_aten"].get("macs"),
               "fvcore": r["fvcore"].get("total"), "thop": r["thop"].get("macs"),
               "ptflops_pytorch_count_functional_False": ptf_nofunc}
        D[name] = {"ptflops_pytorch_default": r["ptflops_pytorch"].get("macs"),
                   "ptflops_pytorch_functional_part": r["ptflops_pytorch"].get("macs") - ptf_nofunc,
                   "components": c, "predicted": pred, "actual": act,
                   "residual": {k: (None if act[k] is None else act[k] - pred[k]) for k in pred}}
        print(name, D[name]["residual"], c.get("functional_outside_leaf_in"), flush=True)
    R["decomposition"] = D
    return R

# ----------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------

def safe(fn, *a):
    try:
        return fn(*a)
    except Exception as e:
        return {"error": f"{type(e).__name__}: {e}"[:500]}


def main(only=None):
    result = {"_meta": {
        "torch": torch.__version__, "torchvision": torchvision.__version__,
        "python": platform.python_version(), "batch": 1, "mode": "eval", "weights": None,
    }}
    for mod_name in ("torchinfo", "fvcore", "ptflops", "thop"):
        try:
            from importlib.metadata import version
            result["_meta"][mod_name] = version(mod_name if mod_name != "thop" else "thop")
        except Exception as e:
            result["_meta"][mod_name] = f"not installed: {e}"
    names = only or DEFAULT_MODELS
    result["_meta"]["models"] = names  # the order of the tables
    for name in names:
        t0 = time.time()
        r = {"input_shape": [1, *MODELS[name][1]]}
        r.update(safe(m_params, name))
        r["flop_counter"] = safe(m_flop_counter, name)
        r["torchinfo"] = safe(m_torchinfo, name)
        r["fvcore"] = safe(m_fvcore, name)
        r["ptflops_pytorch"] = safe(m_ptflops, name, "pytorch")
        r["ptflops_aten"] = safe(m_ptflops, name, "aten")
        r["thop"] = safe(m_thop, name)
        r["published_torchvision"] = published(MODELS[name][2])
        result[name] = r
        print(f"{name:22s} params={r.get('params')} macs={r['flop_counter'].get('macs')} "
              f"ti={r['torchinfo'].get('total_mult_adds')} fv={r['fvcore'].get('total')} "
              f"pt={r['ptflops_pytorch'].get('macs')} pta={r['ptflops_aten'].get('macs')} "
              f"thop={r['thop'].get('macs')} ({time.time()-t0:.1f}s)", flush=True)
    result["lenet5_by_hand"] = lenet_by_hand()
    result["receptive_fields"] = receptive_fields()
    result["layer_dumps"] = {}
    for name in [n for n in LAYER_DUMP_MODELS if n in names]:
        result["layer_dumps"][name] = layer_dump(name)
        print("layers", name, result["layer_dumps"][name], flush=True)
    add_decomposition(result)
    os.makedirs(os.path.dirname(OUT_JSON), exist_ok=True)
    with open(OUT_JSON, "w") as f:
        json.dump(result, f, indent=1, default=str, sort_keys=True)
        f.write("\n")
    print("wrote", OUT_JSON)




if __name__ == "__main__":
    main([a for a in sys.argv[1:] if not a.startswith("-")] or None)
