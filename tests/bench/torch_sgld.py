#!/usr/bin/python3
"""torch_sgld.py - the PyTorch reference that `llc bench` races against.

The same models and the same SGLD step as llc, float32, written as the fastest
PyTorch this machine can run, used only by the benchmark (never by the build
or the tests). See tests/bench/PERFORMANCE.md.

Models (read from data/configs/bench/*.json, mirroring core/transformer.c,
core/gtmodels.c and tasks/{sort,text,icl}.c): a pre-norm attention(+MLP)
transformer with LayerNorm (gain+bias), biases on Q/K/V/O and the
unembedding, learned / shortformer (positions added to the Q,K inputs only) /
rotary (pairs i, i+HS/2) positions, causal attention, final norm; the loss is
the mean cross-entropy over the scored positions (sort: the L sorted-output
positions; text: all; icl: the query). The deep linear network is a product
of weight matrices without biases, loss sum_b |y_b - f(x_b)|^2 / B. Parameters
live in ONE flat float32 vector in llc's layout (so the counts equal llc's),
the gradient in another; the SGLD step
    w <- w - (eps/2)(nbeta g + gamma (w - w*)) + sqrt(eps) N(0, I)
is four vectorised in-place passes over them.

Backends (each checked at startup against plain autograd on one batch):
  autograd         torch.nn.functional ops + autograd; parameters are leaf
                   views of the flat vector whose .grad are views of the flat
                   gradient (autograd accumulates in place).
  autograd-onednn  as autograd, but every dense layer is a custom autograd
                   Function over oneDNN (torch._C._nn.mkldnn_linear forward,
                   mkldnn_linear_backward_{input,weights} backward) and the
                   attention is all heads at once through torch.bmm.
  manual           a hand-written forward and backward under no_grad: explicit
                   BLAS matmuls (addmm/mm/baddbmm/bmm) written with out= into
                   preallocated activations and straight into the views of the
                   flat gradient, no autograd. Attention per (sequence, head)
                   through bmm, scores stored key-major so softmax reduces over
                   a strided axis (this build's last-axis softmax is 2-3x
                   slower); long causal contexts in 4 query blocks, each
                   against only the keys it can see.
  manual-bd        manual, but the attention of each sequence is ONE product
                   per step against block-diagonal expansions of K and V over
                   the heads (NH x the FLOPs, 1/NH of the calls: this build's
                   bmm loops over its matrices through the dispatcher, which
                   costs more than a 20x16 head's arithmetic). Short contexts.
  manual-onednn    manual with the dense layers through oneDNN.
Arrangements of the 2 cores: 1proc-2threads (the chains one after another,
torch and OpenBLAS 2 threads) and 2procs-1thread (two spawned processes with
one thread each, the chains split between them, run concurrently).

Usage:
  /usr/bin/python3 tests/bench/torch_sgld.py [--configs S,M,ICL,DLN100,DLN784]
      [--chains 4] [--steps N] [--config-dir data/configs/bench] [--json]
A table goes to stderr; with --json stdout is one JSON object. Exit 0 on
success, 3 when torch is missing, 1 on any other failure.
"""
import argparse
import ctypes
import json
import math
import os
import statistics
import sys
import time

# libgomp reads this once, when torch is imported: an idle OpenMP worker must
# not spin on the core an OpenBLAS thread needs (measured: median 8-40 ms per
# small matmul with the default spinning in 1proc-2threads).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

CONFIGS = ["S", "M", "ICL", "DLN100", "DLN784"]
EXPECTED_PARAMS = {"S": 26561, "M": 724736, "ICL": 35397, "DLN100": 20000, "DLN784": 234752}
BACKENDS = ["autograd", "autograd-onednn", "manual", "manual-bd", "manual-onednn"]
BD_MAX = 256           # block-diagonal attention only while NH*T <= this (its FLOP waste is NH)
ARRANGEMENTS = ["1proc-2threads", "2procs-1thread"]
SGLD_EPS, SGLD_NBETA, SGLD_GAMMA = 1e-5, 10.0, 100.0
N_BATCHES = 8          # batches generated once, cycled through (a fresh one each step)
LN_EPS = 1e-5          # LLC_NORM_EPS
ROPE_BASE = 10000.0    # LLC_ROPE_BASE
CHECK_RTOL = 1e-4      # backend vs autograd: loss and gradient (norm-wise), relative
# time budgets (seconds) of the default, time-based run
# (an arrangement runs up to ARR_TRIALS trials of all the chains and keeps the
# median, as llc bench does for its own trials)
WARM_S, STEP_S, ARR_S, ARR_TRIALS = 0.3, 1.0, 2.5, 5
MIN_WARM, MIN_STEPS_1T, MIN_STEPS_CHAIN = 2, 4, 2

torch = None
F = None


def import_torch():
    global torch, F
    import torch as _t  # noqa: E402
    import torch.nn.functional as _f
    torch, F = _t, _f


# ---------------------------------------------------------------- threads / BLAS

_openblas = None


def openblas():
    """The OpenBLAS library torch's libblas.so.3 resolved to (ctypes), or None."""
    global _openblas
    if _openblas is None:
        _openblas = False
        try:
            with open("/proc/self/maps") as f:
                paths = {ln.split()[-1] for ln in f if "openblas" in ln and ".so" in ln}
            for p in sorted(paths):
                lib = ctypes.CDLL(p)
                if hasattr(lib, "openblas_set_num_threads"):
                    lib.openblas_get_config.restype = ctypes.c_char_p
                    _openblas = lib
                    break
        except OSError:
            pass
    return _openblas or None


def blas_info():
    ob = openblas()
    if ob:
        return ob.openblas_get_config().decode()
    with open("/proc/self/maps") as f:
        libs = sorted({ln.split()[-1] for ln in f if "blas" in ln and ".so" in ln})
    return ", ".join(libs) or "unknown"


def tune_malloc():
    """Keep freed blocks in glibc's heap (no trimming) and serve blocks up to
    32 MB from it: otherwise every step re-faults the pages of its larger
    temporaries (measured ~5 us per 4 KB page on this VM). The usual advice of
    a caching allocator, without LD_PRELOAD."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-1, 1 << 30)   # M_TRIM_THRESHOLD
        libc.mallopt(-3, 32 << 20)  # M_MMAP_THRESHOLD (glibc's maximum)
    except (OSError, AttributeError):
        pass


def set_threads(n):
    """torch (OpenMP) and OpenBLAS threads. Debian's torch does not know it links
    OpenBLAS (BLAS_INFO=generic), so it never tells OpenBLAS its thread count."""
    torch.set_num_threads(n)
    ob = openblas()
    if ob:
        ob.openblas_set_num_threads(n)


# ---------------------------------------------------------------- configurations

def load_spec(path):
    with open(path) as f:
        cfg = json.load(f)
    task = cfg["task"]
    d = cfg.get("data", {})
    B = int(cfg.get("train", {}).get("batch", 32))
    if task == "dln":
        return dict(kind="dln", task=task, B=B, widths=[int(x) for x in d["widths"]])
    m = dict(n_layers=1, n_heads=4, d_model=64, d_head=16, pos="learned", norm="layer", final_norm=True,
             d_mlp=0, causal=True, pooled=False, tied=False, attn_bias=True, unembed_bias=True, clamps=[])
    m.update(cfg.get("model", {}))
    s = dict(kind="tf", task=task, B=B, L=int(m["n_layers"]), NH=int(m["n_heads"]), C=int(m["d_model"]),
             HS=int(m["d_head"]), pos=m["pos"], norm=m["norm"], final_norm=bool(m["final_norm"]),
             d_mlp=int(m["d_mlp"]), causal=bool(m["causal"]), attn_bias=bool(m["attn_bias"]),
             unembed_bias=bool(m["unembed_bias"]), d_in=0, icl_pairs=0)
    if m["pooled"] or m["tied"] or m["clamps"] or m["norm"] not in ("layer", "none") or \
            m["pos"] not in ("learned", "shortformer", "rope", "none"):
        raise ValueError("%s: model options outside what the benchmark mirrors (pooled, tied, clamps, rms norms)"
                         % path)
    if task == "sort":
        L, V = int(d.get("list_len", 10)), int(d.get("vocab", 64))
        s.update(T=2 * L, vocab=V + 1, n_out=V + 1, score_from=L)
    elif task == "text":
        T = int(d.get("ctx", 128))
        s.update(T=T, vocab=256, n_out=256, score_from=0)
    elif task == "icl":
        N, NL = int(d.get("n_pairs", 2)), int(d.get("n_labels", 5))
        s.update(T=2 * N + 1, vocab=NL, n_out=NL, score_from=2 * N, d_in=int(d.get("dim", 16)), icl_pairs=N)
    else:
        raise ValueError("%s: task '%s' is not one the benchmark mirrors (sort, text, icl, dln)" % (path, task))
    s["D"] = s["NH"] * s["HS"]
    if s["pos"] == "rope" and s["HS"] % 2:
        raise ValueError("%s: rope needs an even d_head" % path)
    return s


def layout(s):
    """llc's flat parameter layout: [(name, shape), ...] in order."""
    if s["kind"] == "dln":
        w = s["widths"]
        return [("A%d" % l, [w[l], w[l - 1]]) for l in range(1, len(w))]
    C, D = s["C"], s["D"]
    ln = s["norm"] == "layer"
    t = [("embed", [s["vocab"], C])]
    if s["d_in"]:
        t += [("in.w", [C, s["d_in"]]), ("in.b", [C])]
    if s["pos"] in ("learned", "shortformer"):
        t.append(("pos", [s["T"], C]))
    for l in range(s["L"]):
        if ln:
            t += [("%d.ln1.g" % l, [C]), ("%d.ln1.b" % l, [C])]
        t.append(("%d.attn.qkv.w" % l, [3 * D, C]))
        if s["attn_bias"]:
            t.append(("%d.attn.qkv.b" % l, [3 * D]))
        t.append(("%d.attn.o.w" % l, [D, C]))  # in-major: out = y . W
        if s["attn_bias"]:
            t.append(("%d.attn.o.b" % l, [C]))
        if s["d_mlp"]:
            if ln:
                t += [("%d.ln2.g" % l, [C]), ("%d.ln2.b" % l, [C])]
            t += [("%d.mlp.fc.w" % l, [s["d_mlp"], C]), ("%d.mlp.fc.b" % l, [s["d_mlp"]]),
                  ("%d.mlp.proj.w" % l, [C, s["d_mlp"]]), ("%d.mlp.proj.b" % l, [C])]
    if s["final_norm"] and ln:
        t += [("lnf.g", [C]), ("lnf.b", [C])]
    t.append(("unembed", [s["n_out"], C]))
    if s["unembed_bias"]:
        t.append(("unembed.b", [s["n_out"]]))
    return t


def n_params(s):
    return sum(math.prod(shape) for _, shape in layout(s))


def flops_per_step(s):
    """Forward + backward matmul FLOPs (2mnk each) of one SGLD step: every
    product once forward, twice backward (weight and input gradients), except
    that no input gradient is formed for the data (DLN's first layer, icl's in.w);
    attention products over the full T x T (what the kernels compute)."""
    if s["kind"] == "dln":
        w, B = s["widths"], s["B"]
        return sum(2 * B * w[l - 1] * w[l] * (2 if l == 1 else 3) for l in range(1, len(w)))
    B, T, C, D, NH, HS = s["B"], s["T"], s["C"], s["D"], s["NH"], s["HS"]
    N, R = B * T, B * (s["T"] - s["score_from"])
    f = 0
    if s["d_in"]:
        f += 2 * 2 * B * (s["icl_pairs"] + 1) * s["d_in"] * C
    per_layer = 3 * 2 * N * C * 3 * D + 3 * 2 * N * D * C + 3 * 2 * 2 * B * NH * T * T * HS
    if s["pos"] == "shortformer":
        per_layer += 3 * 2 * T * C * 2 * D
    if s["d_mlp"]:
        per_layer += 2 * 3 * 2 * N * C * s["d_mlp"]
    return f + s["L"] * per_layer + 3 * 2 * R * C * s["n_out"]


# ---------------------------------------------------------------- parameters and data

class Net:
    """The flat parameter vector w, the flat gradient g, and per-tensor views."""

    def __init__(self, spec, w_init):
        self.spec = spec
        self.table = layout(spec)
        n = sum(math.prod(sh) for _, sh in self.table)
        self.w = w_init.clone()
        self.g = torch.zeros(n)
        self.P, self.G = {}, {}
        off = 0
        for name, shape in self.table:
            k = math.prod(shape)
            self.P[name] = self.w[off:off + k].view(shape)
            self.G[name] = self.g[off:off + k].view(shape)
            off += k


def init_params(spec, seed, perturb=False):
    """llc's init (weights N(0, 1/fan_in), biases 0, gains 1); perturb=True adds
    random biases/gains (the correctness check exercises every path)."""
    gen = torch.Generator().manual_seed(seed)
    parts = []
    for name, shape in layout(spec):
        k = math.prod(shape)
        r = torch.randn(k, generator=gen)
        if len(shape) == 1:
            base = 1.0 if name.endswith(".g") else 0.0
            parts.append(base + (0.3 * r if perturb else 0.0 * r))
        else:
            fan_in = shape[0] if name.endswith("attn.o.w") else shape[1]
            parts.append(r / math.sqrt(fan_in) * (1.5 if perturb else 1.0))
    return torch.cat(parts).float().contiguous()


def make_batches(spec, seed, n=N_BATCHES):
    gen = torch.Generator().manual_seed(seed + 1000)
    out = []
    for _ in range(n):
        if spec["kind"] == "dln":
            w = spec["widths"]
            out.append(dict(x=torch.randn(spec["B"], w[0], generator=gen),
                            y=torch.randn(spec["B"], w[-1], generator=gen)))
            continue
        B, T = spec["B"], spec["T"]
        Ts = T - spec["score_from"]
        b = dict(tgt=torch.randint(spec["n_out"], (B * Ts,), generator=gen))
        b["tgt2"] = b["tgt"].view(-1, 1)
        if spec["d_in"]:
            N = spec["icl_pairs"]
            b["tok"] = torch.randint(spec["vocab"], (B, N), generator=gen)     # labels at odd positions
            b["x"] = torch.randn(B, N + 1, spec["d_in"], generator=gen)       # exemplars + query at even ones
        else:
            b["tok"] = torch.randint(spec["vocab"], (B, T), generator=gen)
        b["tok_flat"] = b["tok"].reshape(-1)
        out.append(b)
    return out


def rope_tables(T, HS):
    H2 = HS // 2
    inv = ROPE_BASE ** (-torch.arange(H2, dtype=torch.float64) * 2.0 / HS)
    ang = torch.arange(T, dtype=torch.float64)[:, None] * inv[None, :]
    return ang.cos().float().contiguous(), ang.sin().float().contiguous()  # (T, HS/2)


# ---------------------------------------------------------------- oneDNN dense layers

DnnLinear = None  # defined by define_autograd_functions (torch is imported lazily)


def define_autograd_functions():
    global DnnLinear

    class _DnnLinear(torch.autograd.Function):
        """y = x . W^T + b through oneDNN inner products (forward and backward)."""

        @staticmethod
        def forward(ctx, x, W, b):
            shp = x.shape
            xm = x.reshape(-1, shp[-1]).to_mkldnn()
            y = torch._C._nn.mkldnn_linear(xm, W, b).to_dense()
            ctx.save_for_backward(W)
            ctx.xm, ctx.shp, ctx.has_b = xm, shp, b is not None
            return y.view(*shp[:-1], W.shape[0])

        @staticmethod
        def backward(ctx, dy):
            (W,) = ctx.saved_tensors
            W = W.contiguous()
            dym = dy.reshape(-1, W.shape[0]).contiguous().to_mkldnn()
            dx = None
            if ctx.needs_input_grad[0]:
                dx = torch.ops.aten.mkldnn_linear_backward_input([ctx.xm.size(0), W.shape[1]], dym, W)
                dx = dx.to_dense().view(ctx.shp)
            dW, db = torch.ops.aten.mkldnn_linear_backward_weights(dym, ctx.xm, W, ctx.has_b)
            return dx, dW, (db if ctx.has_b else None)

    DnnLinear = _DnnLinear


# ---------------------------------------------------------------- backend: autograd

class AutogradBackend:
    """Plain torch.nn.functional ops and autograd (the reference of the check)."""

    def __init__(self, net, dnn=False):
        self.net, self.s, self.dnn = net, net.spec, dnn
        self.params = []
        for name in net.P:
            p = net.P[name]
            p.requires_grad_(True)
            p.grad = net.G[name]          # autograd accumulates into the flat gradient in place
            self.params.append(p)
        s = self.s
        if s["kind"] == "tf":
            T = s["T"]
            self.mask = torch.ones(T, T, dtype=torch.bool).triu(1)
            self.maskadd = torch.zeros(T, T).masked_fill(self.mask, float("-inf"))
            if s["pos"] == "rope":
                c, si = rope_tables(T, s["HS"])
                self.cos = torch.cat([c, c], -1)[None, None]   # (1, 1, T, HS)
                self.sin = torch.cat([si, si], -1)[None, None]

    def lin(self, x, W, b=None):
        if self.dnn:
            return DnnLinear.apply(x, W, b)
        return F.linear(x, W, b)

    def rope(self, x):
        H2 = x.shape[-1] // 2
        rot = torch.cat([-x[..., H2:], x[..., :H2]], -1)
        return x * self.cos + rot * self.sin

    def loss(self, bt):
        s, P = self.s, self.net.P
        if s["kind"] == "dln":
            z = bt["x"]
            for name, _ in self.net.table:
                z = self.lin(z, P[name])
            return ((z - bt["y"]) ** 2).sum() / s["B"]
        B, T, C, NH, HS, D = s["B"], s["T"], s["C"], s["NH"], s["HS"], s["D"]
        if s["d_in"]:
            N = s["icl_pairs"]
            cont = self.lin(bt["x"], P["in.w"], P["in.b"])          # (B, N+1, C)
            emb = F.embedding(bt["tok"], P["embed"])                 # (B, N, C)
            x = torch.cat([torch.stack([cont[:, :N], emb], 2).reshape(B, 2 * N, C), cont[:, N:]], 1)
        else:
            x = F.embedding(bt["tok"], P["embed"])
        if s["pos"] == "learned":
            x = x + P["pos"][:T]
        ln = s["norm"] == "layer"
        for l in range(s["L"]):
            h = F.layer_norm(x, (C,), P["%d.ln1.g" % l], P["%d.ln1.b" % l], LN_EPS) if ln else x
            W = P["%d.attn.qkv.w" % l]
            qkv = self.lin(h, W, P.get("%d.attn.qkv.b" % l))           # (B, T, 3D)
            if s["pos"] == "shortformer":
                qkv = qkv + F.pad(self.lin(P["pos"][:T], W[:2 * D]), (0, D))
            q, k, v = qkv.view(B, T, 3, NH, HS).permute(2, 0, 3, 1, 4).unbind(0)  # (B, NH, T, HS)
            if s["pos"] == "rope":
                q, k = self.rope(q), self.rope(k)
            if self.dnn:  # all heads at once through bmm
                q, k, v = (t.reshape(B * NH, T, HS) for t in (q, k, v))
                if s["causal"]:
                    a = torch.baddbmm(self.maskadd, q, k.transpose(1, 2), alpha=1.0 / math.sqrt(HS))
                else:
                    a = torch.bmm(q, k.transpose(1, 2)) * (1.0 / math.sqrt(HS))
                y = torch.bmm(a.softmax(-1), v).view(B, NH, T, HS)
            else:
                a = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(HS))
                if s["causal"]:
                    a = a.masked_fill(self.mask, float("-inf"))
                y = a.softmax(-1) @ v
            y = y.transpose(1, 2).reshape(B, T, D)
            Wo, bo = P["%d.attn.o.w" % l], P.get("%d.attn.o.b" % l)
            o = self.lin(y, Wo.t(), bo) if self.dnn else (y @ Wo + bo if bo is not None else y @ Wo)
            x = x + o
            if s["d_mlp"]:
                h = F.layer_norm(x, (C,), P["%d.ln2.g" % l], P["%d.ln2.b" % l], LN_EPS) if ln else x
                h = F.gelu(self.lin(h, P["%d.mlp.fc.w" % l], P["%d.mlp.fc.b" % l]), approximate="tanh")
                x = x + self.lin(h, P["%d.mlp.proj.w" % l], P["%d.mlp.proj.b" % l])
        h = x[:, s["score_from"]:]
        if s["final_norm"] and ln:
            h = F.layer_norm(h, (C,), P["lnf.g"], P["lnf.b"], LN_EPS)
        logits = self.lin(h, P["unembed"], P.get("unembed.b"))
        return F.cross_entropy(logits.reshape(-1, s["n_out"]), bt["tgt"])

    def loss_grad(self, bt):
        self.net.g.zero_()
        loss = self.loss(bt)
        loss.backward()
        return loss.detach()


# ---------------------------------------------------------------- backend: manual

class ManualBackend:
    """Hand-written forward and backward (no autograd): explicit matmuls into
    preallocated buffers and straight into the flat gradient's views."""

    def __init__(self, net, dnn=False, attn="bh"):
        self.net, self.s, self.dnn = net, net.spec, dnn
        s = self.s
        self.A = torch.ops.aten
        self.dnn_x = {}     # oneDNN copies of dense-layer inputs, kept for the backward
        E = torch.zeros     # (zeros: no NaN garbage can ever leak through a beta=0 product)
        if s["kind"] == "dln":
            B, w = s["B"], s["widths"]
            self.z = [None] + [E(B, w[l]) for l in range(1, len(w))]
            self.dz = [None] + [E(B, w[l]) for l in range(1, len(w))]
            return
        B, T, C, NH, HS, D = s["B"], s["T"], s["C"], s["NH"], s["HS"], s["D"]
        N, Ts = B * T, T - s["score_from"]
        R, V, L = B * Ts, s["n_out"], s["L"]
        self.N, self.R, self.Ts = N, R, Ts
        self.scale = 1.0 / math.sqrt(HS)
        self.x = [E(N, C) for _ in range(L + 1)]          # layer inputs; x[L] = output
        self.ln1 = [E(N, C) for _ in range(L)]
        self.mean1 = [E(N, 1) for _ in range(L)]
        self.rstd1 = [E(N, 1) for _ in range(L)]
        # Attention layouts. "bd" (short contexts): per sequence b, all heads in one
        # product against block-diagonal K and V expansions (B, NH*T, D), wasting a
        # factor NH in FLOPs but calling bmm's per-matrix loop B times, not B*NH
        # (this build's bmm loops over the batch through the dispatcher, ~7 us per
        # matrix, far more than the arithmetic of a 20x16 head). "bh" (long
        # contexts): per (b, h) heads copied out contiguously, plain bmm.
        # Scores are stored TRANSPOSED (key-major): softmax then reduces over a
        # strided axis, which this build runs 2-3x faster than over the last one.
        self.bd = attn == "bd" or (attn == "auto" and NH * T <= BD_MAX)
        self.y = [E(N, D) for _ in range(L)]
        if self.bd:
            self.qkvl = [E(N, 3 * D) for _ in range(L)]
            self.kexp = [torch.zeros(B, NH * T, D) for _ in range(L)]
            self.vexp = [torch.zeros(B, NH * T, D) for _ in range(L)]
            self.at = [E(B, NH * T, T) for _ in range(L)]     # at[b, h*T + s, t] = a_bh[t -> s]
            self.dat = E(B, NH * T, T)
            self.dexp = E(B, NH * T, D)
            self.dq3 = E(B, T, D)
        else:
            self.qkv = E(N, 3 * D)
            self.qkvh = [E(3, B * NH, T, HS) for _ in range(L)]  # per-head q, k, v (rotated q, k for rope)
            # causal and long: queries in nq blocks of Tb, block j against the keys
            # [0, (j+1) Tb) only, skipping the masked upper blocks ((nq+1)/(2 nq) of
            # the work) and keeping each block's scores nearer the cache
            nq = 4 if s["causal"] and T >= 128 and T % 4 == 0 else 1
            self.qb = [(j * T // nq, (j + 1) * T // nq, (j + 1) * T // nq if s["causal"] else T)
                       for j in range(nq)]
            self.at = [[E(B * NH, m, b - a) for a, b, m in self.qb] for _ in range(L)]  # at[bh, s, t] = a_bh[t -> s]
            self.datb = [E(B * NH, m, b - a) for a, b, m in self.qb]
            self.yh = E(B * NH, T, HS)
            self.dyh = E(B * NH, T, HS)
            self.dqkvh = E(3, B * NH, T, HS)
        if s["d_mlp"]:
            DM = s["d_mlp"]
            self.mid = [E(N, C) for _ in range(L)]
            self.ln2 = [E(N, C) for _ in range(L)]
            self.mean2 = [E(N, 1) for _ in range(L)]
            self.rstd2 = [E(N, 1) for _ in range(L)]
            self.fch = [E(N, DM) for _ in range(L)]
            self.fcg = [E(N, DM) for _ in range(L)]
            self.dfc = E(N, DM)
        self.hsel = E(B, Ts, C)
        self.logits = E(R, V)
        self.lsm = E(R, V)
        self.dfin = E(R, C)
        self.dres = E(N, C)
        self.dln = E(N, C)
        self.dy = E(N, D)
        self.dqkv = E(N, 3 * D)
        self.negR = torch.full((R, 1), -1.0 / R)
        if s["causal"]:
            # key-major scores: entry (s, t) is masked when s > t
            self.maskT = torch.zeros(T, T).masked_fill(torch.ones(T, T, dtype=torch.bool).tril(-1), float("-inf"))
            if self.bd:
                self.maskT = self.maskT.repeat(NH, 1).contiguous()    # (NH*T, T)
            else:
                self.maskb = [self.maskT[:m, a:b].contiguous() for a, b, m in self.qb]
        if s["pos"] == "shortformer":
            self.pp = E(T, 2 * D)
            self.dpp = E(T, 2 * D)
        if s["pos"] == "rope":
            # on the (B, T, 2D) q|k columns of qkv: y = x cos + x[perm] sin~, where perm
            # swaps the halves of every head and sin~ carries the sign (-sin on the first
            # half); full-width tables keep every elementwise op contiguous along 2D
            c, si = rope_tables(T, HS)
            self.rc = torch.cat([c, c], 1).repeat(1, 2 * NH).contiguous()           # (T, 2D)
            self.rs = torch.cat([-si, si], 1).repeat(1, 2 * NH).contiguous()
            H2 = HS // 2
            half = torch.cat([torch.arange(H2, HS), torch.arange(H2)])
            self.rperm = (torch.arange(2 * NH)[:, None] * HS + half[None, :]).reshape(-1)
            self.rtmp = E(B, T, 2 * D)
            self.rtmp2 = E(B, T, 2 * D)
        if s["d_in"]:
            NP = s["icl_pairs"]
            self.cont = E(B * (NP + 1), C)
            self.emb = E(B * NP, C)
            self.dcont = E(B, NP + 1, C)
            self.demb = E(B, NP, C)

    # -- dense layers: y = x . W^T (+ b), through OpenBLAS (addmm) or oneDNN
    def lin_fwd(self, out, x, W, b, key):
        if self.dnn:
            xm = x.to_mkldnn()
            self.dnn_x[key] = xm
            out.copy_(torch._C._nn.mkldnn_linear(xm, W, b).to_dense())
        elif b is not None:
            torch.addmm(b, x, W.t(), out=out)
        else:
            torch.mm(x, W.t(), out=out)

    def lin_bwd(self, dx, gW, gb, dy, x, W, key):
        """dx = dy . W (skipped if dx is None), gW = dy^T . x, gb = sum_rows dy."""
        if self.dnn:
            dym = dy.to_mkldnn()
            if dx is not None:
                dx.copy_(self.A.mkldnn_linear_backward_input([dy.shape[0], W.shape[1]], dym, W).to_dense())
            dW, db = self.A.mkldnn_linear_backward_weights(dym, self.dnn_x[key], W, gb is not None)
            gW.copy_(dW)
            if gb is not None:
                gb.copy_(db)
            return
        if dx is not None:
            torch.mm(dy, W, out=dx)
        torch.mm(dy.t(), x, out=gW)
        if gb is not None:
            torch.sum(dy, 0, out=gb)

    def rope_fwd(self, qkv):
        """Rotate q and k in place: qk = the (B, T, 2D) columns of qkv."""
        s = self.s
        qk = qkv.view(s["B"], s["T"], 3 * s["D"])[:, :, :2 * s["D"]]
        torch.index_select(qk, 2, self.rperm, out=self.rtmp)
        qk.mul_(self.rc).addcmul_(self.rtmp, self.rs)

    def rope_bwd(self, dqkv):
        """The transpose: dx = dy cos + (dy sin~)[perm] (perm is an involution)."""
        s = self.s
        dqk = dqkv.view(s["B"], s["T"], 3 * s["D"])[:, :, :2 * s["D"]]
        torch.mul(dqk, self.rs, out=self.rtmp)
        torch.index_select(self.rtmp, 2, self.rperm, out=self.rtmp2)
        dqk.mul_(self.rc).add_(self.rtmp2)

    def loss_grad(self, bt):
        s, P, G = self.s, self.net.P, self.net.G
        if s["kind"] == "dln":
            return self.dln_loss_grad(bt)
        A = self.A
        B, T, C, D, L = s["B"], s["T"], s["C"], s["D"], s["L"]
        R, sf = self.R, s["score_from"]
        ln = s["norm"] == "layer"
        # ---- inputs
        x0 = self.x[0]
        x03 = x0.view(B, T, C)
        if s["d_in"]:
            NP = s["icl_pairs"]
            torch.addmm(P["in.b"], bt["x"].view(-1, s["d_in"]), P["in.w"].t(), out=self.cont)
            torch.index_select(P["embed"], 0, bt["tok_flat"], out=self.emb)
            x03[:, 0::2].copy_(self.cont.view(B, NP + 1, C))
            x03[:, 1::2].copy_(self.emb.view(B, NP, C))
        else:
            torch.index_select(P["embed"], 0, bt["tok_flat"], out=x0)
        if s["pos"] == "learned":
            x03.add_(P["pos"][:T])
        # ---- layers
        for l in range(L):
            xin, xout = self.x[l], self.x[l + 1]
            if ln:
                A.native_layer_norm.out(xin, [C], P["%d.ln1.g" % l], P["%d.ln1.b" % l], LN_EPS,
                                        out0=self.ln1[l], out1=self.mean1[l], out2=self.rstd1[l])
                h = self.ln1[l]
            else:
                h = xin
            W = P["%d.attn.qkv.w" % l]
            qkv = self.qkvl[l] if self.bd else self.qkv
            self.lin_fwd(qkv, h, W, P.get("%d.attn.qkv.b" % l), ("qkv", l))
            if s["pos"] == "shortformer":
                torch.mm(P["pos"][:T], W[:2 * D].t(), out=self.pp)
                qkv.view(B, T, 3 * D)[:, :, :2 * D].add_(self.pp)
            if s["pos"] == "rope":
                self.rope_fwd(qkv)
            if self.bd:
                self.attn_fwd_bd(l, qkv)
            else:
                self.attn_fwd_bh(l, qkv)
            y = self.y[l]
            mid = self.mid[l] if s["d_mlp"] else xout
            bo = P.get("%d.attn.o.b" % l)
            if self.dnn:
                self.lin_fwd(mid, y, P["%d.attn.o.w" % l].t(), bo, ("o", l))
                mid.add_(xin)
            else:
                torch.addmm(xin, y, P["%d.attn.o.w" % l], out=mid)
                if bo is not None:
                    mid.add_(bo)
            if s["d_mlp"]:
                self.mlp_fwd(l, mid, xout)
        # ---- scored rows, final norm, logits, loss
        xL = self.x[L].view(B, T, C)
        if sf:
            self.hsel.copy_(xL[:, sf:])
            hs = self.hsel.view(R, C)
        else:
            hs = self.x[L]
        if s["final_norm"] and ln:
            fin, fmean, frstd = torch.native_layer_norm(hs, [C], P["lnf.g"], P["lnf.b"], LN_EPS)
        else:
            fin = hs
        self.lin_fwd(self.logits, fin, P["unembed"], P.get("unembed.b"), ("u", 0))
        lsm = A._log_softmax.out(self.logits, 1, False, out=self.lsm)
        loss = torch.gather(lsm, 1, bt["tgt2"]).sum().mul_(-1.0 / R)
        # ---- backward: d logits = (softmax - onehot) / R
        dlog = torch.exp(lsm, out=self.logits).mul_(1.0 / R)
        dlog.scatter_add_(1, bt["tgt2"], self.negR)
        self.lin_bwd(self.dfin, G["unembed"], G.get("unembed.b"), dlog, fin, P["unembed"], ("u", 0))
        dX = self.dres
        dX3 = dX.view(B, T, C)
        if s["final_norm"] and ln:
            dh, dg, db = A.native_layer_norm_backward(self.dfin, hs, [C], fmean, frstd, P["lnf.g"], P["lnf.b"],
                                                      [True, True, True])
            G["lnf.g"].copy_(dg)
            G["lnf.b"].copy_(db)
        else:
            dh = self.dfin
        if sf:
            dX3[:, :sf].zero_()
            dX3[:, sf:].copy_(dh.view(B, self.Ts, C))
        else:
            dX.copy_(dh)
        for l in range(L - 1, -1, -1):
            xin = self.x[l]
            if s["d_mlp"]:
                self.mlp_bwd(l, dX)
            # attention output: mid = xin + y . Wo + bo
            bo = "%d.attn.o.b" % l
            if bo in G:
                torch.sum(dX, 0, out=G[bo])
            if self.dnn:
                dWt = self.A.mkldnn_linear_backward_weights(dX.to_mkldnn(), self.dnn_x[("o", l)],
                                                            P["%d.attn.o.w" % l].t(), False)[0]
                G["%d.attn.o.w" % l].copy_(dWt.t())
            else:
                torch.mm(self.y[l].t(), dX, out=G["%d.attn.o.w" % l])
            torch.mm(dX, P["%d.attn.o.w" % l].t(), out=self.dy)
            if self.bd:
                self.attn_bwd_bd(l)
            else:
                self.attn_bwd_bh(l)
            if s["pos"] == "rope":
                self.rope_bwd(self.dqkv)
            W = P["%d.attn.qkv.w" % l]
            h = self.ln1[l] if ln else xin
            self.lin_bwd(self.dln, G["%d.attn.qkv.w" % l], G.get("%d.attn.qkv.b" % l), self.dqkv, h, W,
                         ("qkv", l))
            if s["pos"] == "shortformer":
                torch.sum(self.dqkv.view(B, T, 3 * D)[:, :, :2 * D], 0, out=self.dpp)
                gW = G["%d.attn.qkv.w" % l][:2 * D]
                gW.addmm_(self.dpp.t(), P["pos"][:T])
                if l == L - 1:
                    torch.mm(self.dpp, W[:2 * D], out=G["pos"][:T])
                else:
                    G["pos"][:T].addmm_(self.dpp, W[:2 * D])
            if ln:
                dxl, dg, db = A.native_layer_norm_backward(self.dln, xin, [C], self.mean1[l], self.rstd1[l],
                                                           P["%d.ln1.g" % l], P["%d.ln1.b" % l],
                                                           [True, True, True])
                G["%d.ln1.g" % l].copy_(dg)
                G["%d.ln1.b" % l].copy_(db)
                dX.add_(dxl)
            else:
                dX.add_(self.dln)
        # ---- inputs
        if s["pos"] == "learned":
            torch.sum(dX3, 0, out=G["pos"][:T])
        Ge = G["embed"]
        Ge.zero_()
        if s["d_in"]:
            NP = s["icl_pairs"]
            self.dcont.copy_(dX3[:, 0::2])
            self.demb.copy_(dX3[:, 1::2])
            dc = self.dcont.view(-1, C)
            torch.mm(dc.t(), bt["x"].view(-1, s["d_in"]), out=G["in.w"])
            torch.sum(dc, 0, out=G["in.b"])
            Ge.index_add_(0, bt["tok_flat"], self.demb.view(-1, C))
        else:
            Ge.index_add_(0, bt["tok_flat"], dX)
        return loss

    def attn_fwd_bd(self, l, qkv):
        s = self.s
        B, T, NH, HS, D = s["B"], s["T"], s["NH"], s["HS"], s["D"]
        q5 = qkv.view(B, T, 3, NH, HS)
        kexp, vexp, at = self.kexp[l], self.vexp[l], self.at[l]
        # diagonal blocks: kexp[b, h*T + t, h*HS + d] = k[b, t, h, d]
        torch.diagonal(kexp.view(B, NH, T, NH, HS), 0, 1, 3).copy_(q5[:, :, 1].permute(0, 1, 3, 2))
        torch.diagonal(vexp.view(B, NH, T, NH, HS), 0, 1, 3).copy_(q5[:, :, 2].permute(0, 1, 3, 2))
        qT = qkv.view(B, T, 3 * D)[:, :, :D].transpose(1, 2)          # (B, D, T), strided
        if s["causal"]:
            torch.baddbmm(self.maskT, kexp, qT, alpha=self.scale, out=at)
        else:
            torch.bmm(kexp, qT, out=at)
            at.mul_(self.scale)
        at4 = at.view(B, NH, T, T)
        self.A._softmax.out(at4, 2, False, out=at4)
        torch.bmm(at.transpose(1, 2), vexp, out=self.y[l].view(B, T, D))  # heads land concatenated

    def attn_bwd_bd(self, l):
        """self.dy (N, D) = d y on entry; writes self.dqkv (N, 3D)."""
        s, A = self.s, self.A
        B, T, NH, HS, D = s["B"], s["T"], s["NH"], s["HS"], s["D"]
        kexp, vexp, at = self.kexp[l], self.vexp[l], self.at[l]
        dY = self.dy.view(B, T, D)
        dat, dexp = self.dat, self.dexp
        torch.bmm(vexp, dY.transpose(1, 2), out=dat)                     # dA^T
        dat4 = dat.view(B, NH, T, T)
        A._softmax_backward_data.out(dat4, at.view(B, NH, T, T), 2, torch.float32, grad_input=dat4)  # dS^T
        d5 = self.dqkv.view(B, T, 3, NH, HS)
        dexp5 = dexp.view(B, NH, T, NH, HS)
        torch.bmm(at, dY, out=dexp)                                       # dV (diagonal blocks)
        d5[:, :, 2].copy_(torch.diagonal(dexp5, 0, 1, 3).permute(0, 1, 3, 2))
        q = self.qkvl[l].view(B, T, 3 * D)[:, :, :D]
        torch.baddbmm(dexp, dat, q, beta=0.0, alpha=self.scale, out=dexp)  # dK (diagonal blocks)
        d5[:, :, 1].copy_(torch.diagonal(dexp5, 0, 1, 3).permute(0, 1, 3, 2))
        torch.baddbmm(self.dq3, dat.transpose(1, 2), kexp, beta=0.0, alpha=self.scale, out=self.dq3)  # dQ
        self.dqkv.view(B, T, 3 * D)[:, :, :D].copy_(self.dq3)

    def attn_fwd_bh(self, l, qkv):
        s = self.s
        B, T, NH, HS = s["B"], s["T"], s["NH"], s["HS"]
        qkvh = self.qkvh[l]
        qkvh.view(3, B, NH, T, HS).copy_(qkv.view(B, T, 3, NH, HS).permute(2, 0, 3, 1, 4))
        q, k, v = qkvh[0], qkvh[1], qkvh[2]
        for j, (a, b, m) in enumerate(self.qb):
            at = self.at[l][j]
            qT = q[:, a:b].transpose(1, 2)
            if s["causal"]:
                torch.baddbmm(self.maskb[j], k[:, :m], qT, alpha=self.scale, out=at)
            else:
                torch.bmm(k[:, :m], qT, out=at)
                at.mul_(self.scale)
            self.A._softmax.out(at, 1, False, out=at)
            self.yh[:, a:b].baddbmm_(at.transpose(1, 2), v[:, :m], beta=0.0)
        self.y[l].view(B, T, NH, HS).copy_(self.yh.view(B, NH, T, HS).transpose(1, 2))

    def attn_bwd_bh(self, l):
        s, A = self.s, self.A
        B, T, NH, HS = s["B"], s["T"], s["NH"], s["HS"]
        self.dyh.view(B, NH, T, HS).copy_(self.dy.view(B, T, NH, HS).transpose(1, 2))
        qkvh = self.qkvh[l]
        q, k, v = qkvh[0], qkvh[1], qkvh[2]
        dq, dk, dv = self.dqkvh[0], self.dqkvh[1], self.dqkvh[2]
        last = len(self.qb) - 1
        for j in range(last, -1, -1):          # the last block covers every key: it initialises dK, dV
            a, b, m = self.qb[j]
            at, dat = self.at[l][j], self.datb[j]
            dyj, qj = self.dyh[:, a:b], q[:, a:b]
            beta = 0.0 if j == last else 1.0
            dv[:, :m].baddbmm_(at, dyj, beta=beta)                                # dV += A^T dY
            torch.bmm(v[:, :m], dyj.transpose(1, 2), out=dat)                     # dA^T = V dY^T
            A._softmax_backward_data.out(dat, at, 1, torch.float32, grad_input=dat)  # dS^T
            dq[:, a:b].baddbmm_(dat.transpose(1, 2), k[:, :m], beta=0.0, alpha=self.scale)  # dQ = s dS K
            dk[:, :m].baddbmm_(dat, qj, beta=beta, alpha=self.scale)                 # dK += s dS^T Q
        self.dqkv.view(B, T, 3, NH, HS).copy_(self.dqkvh.view(3, B, NH, T, HS).permute(1, 3, 0, 2, 4))

    def mlp_fwd(self, l, mid, out):
        s, P, A = self.s, self.net.P, self.A
        C = s["C"]
        if s["norm"] == "layer":
            A.native_layer_norm.out(mid, [C], P["%d.ln2.g" % l], P["%d.ln2.b" % l], LN_EPS,
                                    out0=self.ln2[l], out1=self.mean2[l], out2=self.rstd2[l])
            h = self.ln2[l]
        else:
            h = mid
        self.lin_fwd(self.fch[l], h, P["%d.mlp.fc.w" % l], P["%d.mlp.fc.b" % l], ("fc", l))
        torch._C._nn.gelu(self.fch[l], approximate="tanh", out=self.fcg[l])
        self.lin_fwd(out, self.fcg[l], P["%d.mlp.proj.w" % l], P["%d.mlp.proj.b" % l], ("proj", l))
        out.add_(mid)

    def mlp_bwd(self, l, dX):
        """dX: d out on entry, d mid on exit."""
        s, P, G, A = self.s, self.net.P, self.net.G, self.A
        C = s["C"]
        self.lin_bwd(self.dfc, G["%d.mlp.proj.w" % l], G["%d.mlp.proj.b" % l], dX, self.fcg[l],
                     P["%d.mlp.proj.w" % l], ("proj", l))
        dfch = torch.ops.aten.gelu_backward(self.dfc, self.fch[l], approximate="tanh")
        h = self.ln2[l] if s["norm"] == "layer" else self.mid[l]
        self.lin_bwd(self.dln, G["%d.mlp.fc.w" % l], G["%d.mlp.fc.b" % l], dfch, h, P["%d.mlp.fc.w" % l],
                     ("fc", l))
        if s["norm"] == "layer":
            dxl, dg, db = A.native_layer_norm_backward(self.dln, self.mid[l], [C], self.mean2[l], self.rstd2[l],
                                                       P["%d.ln2.g" % l], P["%d.ln2.b" % l], [True, True, True])
            G["%d.ln2.g" % l].copy_(dg)
            G["%d.ln2.b" % l].copy_(db)
            dX.add_(dxl)
        else:
            dX.add_(self.dln)

    def dln_loss_grad(self, bt):
        s, P, G = self.s, self.net.P, self.net.G
        names = [n for n, _ in self.net.table]
        Lw, B = len(names), s["B"]
        z = bt["x"]
        for i, name in enumerate(names):
            self.lin_fwd(self.z[i + 1], z, P[name], None, ("A", i))
            z = self.z[i + 1]
        r = z.sub_(bt["y"])                       # z_L is not needed after this
        loss = torch.dot(r.view(-1), r.view(-1)).mul_(1.0 / B)
        dz = r.mul_(2.0 / B)
        for i in range(Lw - 1, -1, -1):
            zin = bt["x"] if i == 0 else self.z[i]
            dx = self.dz[i] if i > 0 else None
            self.lin_bwd(dx, G[names[i]], None, dz, zin, P[names[i]], ("A", i))
            dz = dx
        return loss


def make_backend(name, net):
    if name == "autograd":
        return AutogradBackend(net)
    if name == "autograd-onednn":
        return AutogradBackend(net, dnn=True)
    if name == "manual":
        return ManualBackend(net, attn="bh")
    if name == "manual-bd":
        return ManualBackend(net, attn="bd")
    if name == "manual-onednn":
        return ManualBackend(net, dnn=True, attn="auto")
    raise ValueError(name)


def backend_applies(name, spec):
    """oneDNN needs torch built with it; manual-bd is for short contexts (for the
    DLN it would be manual again)."""
    if name.endswith("onednn") and not torch.backends.mkldnn.is_available():
        return False
    if name == "manual-bd":
        return spec["kind"] == "tf" and spec["NH"] * spec["T"] <= BD_MAX
    return True


# ---------------------------------------------------------------- SGLD

class Sampler:
    """One model + backend; chains reset w to w* and run SGLD steps."""

    def __init__(self, spec, backend, seed=1):
        self.spec = spec
        wstar = init_params(spec, seed)
        self.net = Net(spec, wstar)
        self.be = make_backend(backend, self.net)
        self.batches = make_batches(spec, seed)
        w = self.net.w
        self.wstar = wstar
        h = 0.5 * SGLD_EPS
        self.a = 1.0 - h * SGLD_GAMMA            # w <- a w + c - h nbeta g + sqrt(eps) xi
        self.c = wstar * (h * SGLD_GAMMA)
        self.gk = -h * SGLD_NBETA
        self.sd = math.sqrt(SGLD_EPS)
        self.noise = torch.empty_like(w)
        self.k = 0
        self.losses = []

    def reset(self):
        with torch.no_grad():
            self.net.w.copy_(self.wstar)

    def step(self):
        loss = self.be.loss_grad(self.batches[self.k % N_BATCHES])
        self.k += 1
        w, g, xi = self.net.w, self.net.g, self.noise
        with torch.no_grad():
            xi.normal_(0.0, self.sd)
            xi.add_(self.c)
            xi.add_(g, alpha=self.gk)
            torch.add(xi, w, alpha=self.a, out=w)
        self.losses.append(float(loss))
        return loss

    def run(self, steps, times=None):
        ctx = torch.enable_grad() if isinstance(self.be, AutogradBackend) else torch.no_grad()
        with ctx:
            for _ in range(steps):
                if times is not None:
                    t0 = time.perf_counter()
                    self.step()
                    times.append(time.perf_counter() - t0)
                else:
                    self.step()

    def warmup(self, seconds, min_steps=MIN_WARM):
        """Run steps for ~seconds; returns the median step time seen."""
        t_end = time.perf_counter() + seconds
        times = []
        while len(times) < min_steps or time.perf_counter() < t_end:
            self.run(1, times)
        self.reset()
        return statistics.median(times)


def check_backends(spec, backends, seed=7):
    """Loss and flat gradient of every backend vs plain autograd on one batch
    at a perturbed point (every bias and gain in play). Raises on mismatch."""
    w = init_params(spec, seed, perturb=True)
    batch = make_batches(spec, seed, 1)[0]
    ref_net = Net(spec, w)
    ref = AutogradBackend(ref_net)
    with torch.enable_grad():
        ref_loss = float(ref.loss_grad(batch))
    gnorm = ref_net.g.norm().item()
    for name in backends:
        if name == "autograd":
            continue
        net = Net(spec, w)
        be = make_backend(name, net)
        ctx = torch.enable_grad() if isinstance(be, AutogradBackend) else torch.no_grad()
        with ctx:
            net.g.fill_(float("nan"))  # every entry must be written
            be.loss_grad(batch)       # twice: the second sees buffers left by the first
            net.g.fill_(float("nan"))
            loss = float(be.loss_grad(batch))
        lerr = abs(loss - ref_loss) / max(abs(ref_loss), 1e-30)
        gerr, worst = 0.0, ""
        for t in net.G:  # per tensor, so an error in a small one is not diluted
            d, r = net.G[t], ref_net.G[t]
            e = (d - r).norm().item() / max(r.norm().item(), 1e-3 * gnorm, 1e-30)
            if not e <= gerr:  # also catches NaN
                gerr, worst = e, t
        if not (lerr <= CHECK_RTOL and gerr <= CHECK_RTOL):
            raise AssertionError("backend %s disagrees with autograd on %s: loss rel err %.3g, gradient rel err "
                                 "%.3g (%s)" % (name, spec.get("task"), lerr, gerr, worst))


# ---------------------------------------------------------------- measurement

def measure_1thread(spec, backend, steps):
    """Median ms of one SGLD step (fwd+bwd+update), one thread, this process."""
    set_threads(1)
    sm = Sampler(spec, backend)
    t = sm.warmup(WARM_S)
    n = steps if steps else max(MIN_STEPS_1T, int(STEP_S / t))
    times = []
    sm.run(n, times)
    return 1e3 * statistics.median(times), t


def trial_plan(steps, t_step, chains):
    """(trials, steps per chain per trial) for chains run one after another
    at t_step seconds per step: --steps N gives one trial of N steps."""
    if steps:
        return 1, steps
    per_trial = ARR_S / ARR_TRIALS
    n = int(per_trial / (t_step * chains))
    if n >= MIN_STEPS_CHAIN:
        return ARR_TRIALS, n
    trials = max(1, min(ARR_TRIALS, int(ARR_S / (t_step * chains * MIN_STEPS_CHAIN))))
    return trials, MIN_STEPS_CHAIN


def measure_1proc(spec, backend, chains, steps):
    """Chains one after another, 2 threads: total steps/s (median trial)."""
    set_threads(2)
    sm = Sampler(spec, backend)
    t = sm.warmup(WARM_S)
    trials, n = trial_plan(steps, t, chains)
    rates = []
    for _ in range(trials):
        t0 = time.perf_counter()
        for _ in range(chains):
            sm.reset()
            sm.run(n)
        rates.append(chains * n / (time.perf_counter() - t0))
    return statistics.median(rates)


def worker_main(conn, barrier):
    """A spawned process with one thread: runs its share of chains on request."""
    tune_malloc()
    import_torch()
    define_autograd_functions()
    set_threads(1)
    conn.send(("hello",))
    while True:
        msg = conn.recv()
        if msg is None:
            break
        try:
            spec, backend, chains, steps = msg
            sm = Sampler(spec, backend)
            t = sm.warmup(WARM_S)
            conn.send(("ready", t))
            trials, n = conn.recv()
            spans = []
            for _ in range(trials):
                barrier.wait(600)
                t0 = time.perf_counter()
                for _ in range(chains):
                    sm.reset()
                    sm.run(n)
                spans.append((t0, time.perf_counter()))
            conn.send(("done", spans, chains * n))
        except Exception as e:  # report, keep serving
            conn.send(("error", "%s: %s" % (type(e).__name__, e)))


class Workers:
    def __init__(self, n=2):
        import multiprocessing as mp
        ctx = mp.get_context("spawn")
        self.barrier = ctx.Barrier(n)
        self.conns, self.procs = [], []
        saved = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
        os.environ["OMP_NUM_THREADS"] = "1"
        os.environ["OPENBLAS_NUM_THREADS"] = "1"
        try:
            for _ in range(n):
                a, b = ctx.Pipe()
                p = ctx.Process(target=worker_main, args=(b, self.barrier), daemon=True)
                p.start()
                self.conns.append(a)
                self.procs.append(p)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        for c in self.conns:  # started up (torch imported) before anything is timed
            c.recv()

    def run(self, spec, backend, chains, steps):
        """Chains split between the workers, run concurrently: total steps/s."""
        k = len(self.conns)
        shares = [chains // k + (1 if i < chains % k else 0) for i in range(k)]
        for c, sh in zip(self.conns, shares):
            c.send((spec, backend, sh, steps))
        ts = []
        for c in self.conns:
            r = c.recv()
            if r[0] == "error":
                raise RuntimeError("worker: " + r[1])
            ts.append(r[1])
        plan = trial_plan(steps, max(ts), max(shares))
        for c in self.conns:
            c.send(plan)
        res = []
        for c in self.conns:
            r = c.recv()
            if r[0] == "error":
                raise RuntimeError("worker: " + r[1])
            res.append(r)
        total = sum(r[2] for r in res)   # steps of one trial, both workers
        rates = []
        for i in range(plan[0]):  # trial i: from the first start to the last end
            wall = max(r[1][i][1] for r in res) - min(r[1][i][0] for r in res)
            rates.append(total / wall)
        return statistics.median(rates)

    def close(self):
        for c in self.conns:
            try:
                c.send(None)
            except OSError:
                pass
        for p in self.procs:
            p.join(timeout=10)


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description="PyTorch SGLD reference for llc bench")
    ap.add_argument("--configs", default=",".join(CONFIGS))
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--steps", type=int, default=0,
                    help="steps per chain (and timed 1-thread steps); default: time-based, ~%.1f s per variant"
                    % ARR_S)
    ap.add_argument("--config-dir", default=None)
    ap.add_argument("--backends", default=",".join(BACKENDS), help=argparse.SUPPRESS)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    tune_malloc()
    try:
        import_torch()
    except ImportError:
        print("torch_sgld: PyTorch is not installed (apt-get install python3-torch)", file=sys.stderr)
        return 3
    define_autograd_functions()
    cdir = args.config_dir or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data",
                                           "configs", "bench")
    names = [c for c in args.configs.split(",") if c]
    if args.chains < 1 or args.steps < 0:
        print("torch_sgld: --chains must be >= 1 and --steps >= 0", file=sys.stderr)
        return 1
    backends = [b for b in args.backends.split(",") if b]
    for b in backends:
        if b not in BACKENDS:
            print("torch_sgld: unknown backend %s" % b, file=sys.stderr)
            return 1
    specs = {}
    for n in names:
        p = n if n.endswith(".json") else os.path.join(cdir, n + ".json")
        cname = os.path.splitext(os.path.basename(p))[0]
        specs[cname] = load_spec(p)
        got = n_params(specs[cname])
        if cname in EXPECTED_PARAMS and got != EXPECTED_PARAMS[cname]:
            raise AssertionError("%s: %d parameters, llc has %d" % (cname, got, EXPECTED_PARAMS[cname]))
    t_start = time.perf_counter()
    set_threads(1)
    for cname, spec in specs.items():
        check_backends(spec, [b for b in backends if backend_applies(b, spec)])
    log = lambda *a: print(*a, file=sys.stderr, flush=True)  # noqa: E731
    log("torch_sgld: torch %s, %s, %d cores; backends checked against autograd (rtol %g)"
        % (torch.__version__, blas_info(), os.cpu_count(), CHECK_RTOL))
    workers = Workers(2)
    out = dict(torch_version=torch.__version__, blas=blas_info(), threads_available=os.cpu_count(), configs=[])
    hdr = "%-7s %9s %10s  %-16s %-15s %9s %9s" % ("config", "params", "MFLOP/st", "backend", "arrangement",
                                                  "step_ms", "steps/s")
    log(hdr)
    try:
        for cname, spec in specs.items():
            tried = []
            for b in [b for b in backends if backend_applies(b, spec)]:
                ms, _ = measure_1thread(spec, b, args.steps)
                s1 = measure_1proc(spec, b, args.chains, args.steps)
                s2 = workers.run(spec, b, args.chains, args.steps)
                for arr, sps in zip(ARRANGEMENTS, (s1, s2)):
                    tried.append(dict(backend=b, arrangement=arr, steps_s=round(sps, 3), step_ms=round(ms, 4)))
                    log("%-7s %9d %10.1f  %-16s %-15s %9.3f %9.1f" % (cname, n_params(spec),
                                                                       flops_per_step(spec) / 1e6, b, arr, ms, sps))
            best = max(tried, key=lambda r: r["steps_s"])
            out["configs"].append(dict(config=cname, n_params=n_params(spec), flops_per_step=flops_per_step(spec),
                                       backend=best["backend"], arrangement=best["arrangement"],
                                       step_ms=best["step_ms"], steps_s=best["steps_s"], tried=tried))
            log("%-7s best: %s, %s: %.1f steps/s (%.3f ms/step on 1 thread)"
                % (cname, best["backend"], best["arrangement"], best["steps_s"], best["step_ms"]))
    finally:
        workers.close()
    log("torch_sgld: %.0f s" % (time.perf_counter() - t_start))
    if args.json:
        print(json.dumps(out))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (OSError, ValueError, KeyError, AssertionError, RuntimeError) as e:
        print("torch_sgld: %s: %s" % (type(e).__name__, e), file=sys.stderr)
        sys.exit(1)
