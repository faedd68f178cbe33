#!/usr/bin/python3
"""make_ref.py - whole-model reference values for tests/unit/test_torch_ref.c.

An implementation of llc's transformer in PyTorch (float64, autograd),
written from the specification in core/transformer.c's header comment and
core/llc_model.h, NOT from the C code. For a few tiny configurations it
  - lays out the flat parameter vector in llc's documented order,
  - draws parameters (rounded to float32) and a batch from a fixed seed,
  - computes the mean masked cross-entropy loss and its full gradient,
and writes data/torch_ref/<name>.json:
  {"config": {...llc_tf_config fields...},
   "tensors": [[name, [shape], offset], ...],
   "params": [...], "batch": {"B", "T", "tokens", "x", "targets", "mask"},
   "loss": float, "grad": [...]}
The C test needs only these files, never Python. Regenerate with
    /usr/bin/python3 data/torch_ref/make_ref.py
"""
import json
import math
import os

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
EPS = 1e-5
ROPE_BASE = 10000.0
HERE = os.path.dirname(os.path.abspath(__file__))


def base_config(**kw):
    c = dict(n_layers=1, n_heads=4, d_model=64, d_head=16, vocab=0, d_input=0, n_ctx=0, n_out=0,
             pos="learned", norm="layer", final_norm=True, d_mlp=0, causal=True, pooled=False,
             tied=False, attn_bias=True, unembed_bias=True, clamps=[])
    c.update(kw)
    return c


# ---------------- the parameter layout (llc's documented order) ----------------

def layout(c):
    C, D = c["d_model"], c["n_heads"] * c["d_head"]
    has_g = c["norm"] in ("layer", "rms")
    has_b = c["norm"] == "layer"
    t = []
    if c["vocab"] > 0:
        t.append(("embed", [c["vocab"], C]))
    if c["d_input"] > 0:
        t += [("in.w", [C, c["d_input"]]), ("in.b", [C])]
    if c["pos"] in ("learned", "shortformer"):
        t.append(("pos", [c["n_ctx"], C]))
    for l in range(c["n_layers"]):
        pool = c["pooled"] and l == c["n_layers"] - 1
        if has_g:
            t.append((f"{l}.ln1.g", [C]))
        if has_b:
            t.append((f"{l}.ln1.b", [C]))
        if pool:
            t += [(f"{l}.attn.query", [c["n_heads"], c["d_head"]]), (f"{l}.attn.kv.w", [2 * D, C])]
            if c["attn_bias"]:
                t.append((f"{l}.attn.kv.b", [2 * D]))
        else:
            t.append((f"{l}.attn.qkv.w", [3 * D, C]))
            if c["attn_bias"]:
                t.append((f"{l}.attn.qkv.b", [3 * D]))
        t.append((f"{l}.attn.o.w", [D, C]))  # in-major
        if c["attn_bias"]:
            t.append((f"{l}.attn.o.b", [C]))
        if c["d_mlp"] > 0:
            if has_g:
                t.append((f"{l}.ln2.g", [C]))
            if has_b:
                t.append((f"{l}.ln2.b", [C]))
            t += [(f"{l}.mlp.fc.w", [c["d_mlp"], C]), (f"{l}.mlp.fc.b", [c["d_mlp"]]),
                  (f"{l}.mlp.proj.w", [C, c["d_mlp"]]), (f"{l}.mlp.proj.b", [C])]
    if c["final_norm"]:
        if has_g:
            t.append(("lnf.g", [C]))
        if has_b:
            t.append(("lnf.b", [C]))
    if not c["tied"]:
        t.append(("unembed", [c["n_out"], C]))
    if c["unembed_bias"]:
        t.append(("unembed.b", [c["n_out"]]))
    out, off = [], 0
    for name, shape in t:
        out.append((name, shape, off))
        off += math.prod(shape)
    return out, off


# ---------------- the model ----------------

def norm(c, x, P, prefix):
    if c["norm"] == "none":
        return x
    if c["norm"] == "layer":
        return F.layer_norm(x, (x.shape[-1],), P[prefix + ".g"], P[prefix + ".b"], eps=EPS)
    y = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS)
    return y * P[prefix + ".g"] if c["norm"] == "rms" else y


def rope(x, T):
    """x (B, T, NH, HS): rotate pairs (i, i + HS/2) by t * base^(-2i/HS)."""
    HS = x.shape[-1]
    inv = ROPE_BASE ** (-torch.arange(0, HS // 2, dtype=torch.float64) * 2.0 / HS)
    ang = torch.arange(T, dtype=torch.float64)[:, None] * inv[None, :]  # (T, HS/2)
    cos = torch.cat([ang.cos(), ang.cos()], -1)[None, :, None, :]
    sin = torch.cat([ang.sin(), ang.sin()], -1)[None, :, None, :]
    x1, x2 = x[..., : HS // 2], x[..., HS // 2:]
    rot = torch.cat([-x2, x1], -1)
    return x * cos + rot * sin


def mlp(c, x, P, l):
    h = norm(c, x, P, f"{l}.ln2")
    h = F.gelu(F.linear(h, P[f"{l}.mlp.fc.w"], P[f"{l}.mlp.fc.b"]), approximate="tanh")
    return x + F.linear(h, P[f"{l}.mlp.proj.w"], P[f"{l}.mlp.proj.b"])


def head_clamp(c, l, h):
    kinds = [k for k in c["clamps"] if k["layer"] == l and k["head"] == h]
    zero = [k for k in kinds if k["kind"] in ("zero_values", "zero_output")]
    return zero[-1] if zero else (kinds[-1] if kinds else None)


def forward_loss(c, P, batch):
    B, T = batch["B"], batch["T"]
    C, NH, HS = c["d_model"], c["n_heads"], c["d_head"]
    D = NH * HS
    tokens = torch.tensor(batch["tokens"]).view(B, T) if c["vocab"] > 0 else torch.full((B, T), -1)
    x = torch.zeros(B, T, C)
    is_tok = tokens >= 0
    if c["vocab"] > 0:
        x = torch.where(is_tok[..., None], P["embed"][tokens.clamp(min=0)], x)
    if c["d_input"] > 0:
        xin = torch.tensor(batch["x"]).view(B, T, c["d_input"])
        x = torch.where(is_tok[..., None], x, F.linear(xin, P["in.w"], P["in.b"]))
    if c["pos"] == "learned":
        x = x + P["pos"][:T]
    qk_pos = P["pos"][:T] if c["pos"] == "shortformer" else None
    out = None
    for l in range(c["n_layers"]):
        pool = c["pooled"] and l == c["n_layers"] - 1
        h = norm(c, x, P, f"{l}.ln1")
        hp = h + qk_pos if qk_pos is not None else h
        if pool:
            W = P[f"{l}.attn.kv.w"]
            bias = P.get(f"{l}.attn.kv.b")
            bk, bv = (bias[:D], bias[D:]) if bias is not None else (None, None)
            k = F.linear(hp, W[:D], bk).view(B, T, NH, HS)
            v = F.linear(h, W[D:], bv).view(B, T, NH, HS)
            q = P[f"{l}.attn.query"]  # (NH, HS)
            att = torch.einsum("hi,bthi->bht", q, k) / math.sqrt(HS)
            att = att.softmax(-1)
            y = torch.einsum("bht,bthi->bhi", att, v)  # (B, NH, HS)
            keep = torch.ones(NH, 1)
            for hd in range(NH):
                if head_clamp(c, l, hd) is not None:  # only zero clamps exist on the pooling layer
                    keep[hd] = 0.0
            y = (y * keep).reshape(B, D)
            p = y @ P[f"{l}.attn.o.w"]
            if f"{l}.attn.o.b" in P:
                p = p + P[f"{l}.attn.o.b"]
            if c["d_mlp"] > 0:
                p = mlp(c, p, P, l)
            out = p  # (B, C)
            break
        W = P[f"{l}.attn.qkv.w"]
        bias = P.get(f"{l}.attn.qkv.b")
        bq, bk, bv = (bias[:D], bias[D:2 * D], bias[2 * D:]) if bias is not None else (None, None, None)
        q = F.linear(hp, W[:D], bq).view(B, T, NH, HS)
        k = F.linear(hp, W[D:2 * D], bk).view(B, T, NH, HS)
        v = F.linear(h, W[2 * D:], bv).view(B, T, NH, HS)
        if c["pos"] == "rope":
            q, k = rope(q, T), rope(k, T)
        s = torch.einsum("bthi,bshi->bhts", q, k) / math.sqrt(HS)
        if c["causal"]:
            s = s.masked_fill(torch.ones(T, T).triu(1).bool(), float("-inf"))
        att = s.softmax(-1)  # (B, NH, T, T)
        heads = []
        for hd in range(NH):
            a = att[:, hd]
            k_ = head_clamp(c, l, hd)
            vh = v[:, :, hd]
            if k_ is not None and k_["kind"] == "prev":
                a = torch.zeros(T, T)
                a[torch.arange(T), (torch.arange(T) - 1).clamp(min=0)] = 1.0
                a = a.expand(B, T, T)
            elif k_ is not None and k_["kind"] == "pattern":
                n = c["n_ctx"]
                a = torch.tensor(k_["pattern"]).view(n, n)[:T, :T].expand(B, T, T)
            elif k_ is not None and k_["kind"] == "zero_values":
                vh = torch.zeros_like(vh)
            yh = a @ vh  # (B, T, HS)
            if k_ is not None and k_["kind"] == "zero_output":
                yh = torch.zeros_like(yh)
            heads.append(yh)
        y = torch.cat(heads, -1)  # (B, T, D)
        a_out = y @ P[f"{l}.attn.o.w"]
        if f"{l}.attn.o.b" in P:
            a_out = a_out + P[f"{l}.attn.o.b"]
        x = x + a_out
        if c["d_mlp"] > 0:
            x = mlp(c, x, P, l)
        out = x
    targets = torch.tensor(batch["targets"]).view(B, T)
    mask = torch.tensor(batch["mask"]).view(B, T)
    if c["pooled"]:
        targets, mask = targets[:, -1], mask[:, -1]
        h = out
    else:
        h = out.reshape(B * T, C)
        targets, mask = targets.reshape(-1), mask.reshape(-1)
    if c["final_norm"]:
        h = norm(c, h, P, "lnf")
    U = P["embed"] if c["tied"] else P["unembed"]
    logits = F.linear(h, U, P.get("unembed.b"))
    keep = mask != 0
    nll = F.cross_entropy(logits[keep], targets[keep], reduction="none")
    return (nll * mask[keep]).sum() / mask.sum()


# ---------------- data ----------------

def f32(t):
    return t.to(torch.float32).to(torch.float64)


def make_case(name, c, B, T, seed):
    g = torch.Generator().manual_seed(seed)
    tensors, n = layout(c)
    w = torch.zeros(n)
    for tname, shape, off in tensors:
        size = math.prod(shape)
        r = torch.randn(size, generator=g)
        if len(shape) == 1:
            val = (1.0 + 0.3 * r) if tname.endswith(".g") else 0.3 * r
        else:
            fan_in = shape[0] if tname.endswith("attn.o.w") else shape[1]
            val = r / math.sqrt(fan_in) * 1.5
        w[off:off + size] = val
    w = f32(w)
    N = B * T
    tokens = []
    for _ in range(N):
        tok = int(torch.randint(c["vocab"], (1,), generator=g)) if c["vocab"] > 0 else -1
        if c["d_input"] > 0 and c["vocab"] > 0 and float(torch.rand(1, generator=g)) < 0.4:
            tok = -1
        tokens.append(tok)
    x = f32(torch.randn(N * c["d_input"], generator=g)).tolist() if c["d_input"] > 0 else []
    targets = torch.randint(c["n_out"], (N,), generator=g).tolist()
    u = torch.rand(N, generator=g)
    mask = torch.where(u < 0.3, 0.0, torch.where(u < 0.4, 2.0, 1.0))
    mask[0] = 1.0
    if c["pooled"]:
        for b in range(B):
            mask[b * T + T - 1] = 0.0 if b == 1 else 1.0
    batch = dict(B=B, T=T, tokens=tokens, x=x, targets=targets, mask=mask.tolist())
    wv = w.clone().requires_grad_(True)
    P = {tname: wv[off:off + math.prod(shape)].view(*shape) for tname, shape, off in tensors}
    loss = forward_loss(c, P, batch)
    loss.backward()
    doc = dict(name=name, config=c, tensors=[[t, s, o] for t, s, o in tensors],
               params=[float("%.9g" % v) for v in w.tolist()], batch=batch,
               loss=float(loss), grad=[float("%.12g" % v) for v in wv.grad.tolist()])
    path = os.path.join(HERE, name + ".json")
    with open(path, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print(f"{path}: {n} params, loss {float(loss):.9f}, max|g| {wv.grad.abs().max():.4g}")


def main():
    n = 6
    pattern = [[(1.0 / (t + 1) if s <= t else 0.0) for s in range(n)] for t in range(n)]
    make_case("gpt", base_config(n_layers=2, n_heads=2, d_model=8, d_head=4, vocab=11, n_ctx=7, n_out=11,
                                 pos="learned", norm="layer", d_mlp=16, causal=True), B=3, T=7, seed=1)
    make_case("rope_rms", base_config(n_layers=2, n_heads=2, d_model=8, d_head=4, vocab=5, d_input=3, n_ctx=6,
                                      n_out=5, pos="rope", norm="rms", d_mlp=0, causal=True, tied=True,
                                      attn_bias=False,
                                      clamps=[dict(kind="prev", layer=0, head=1),
                                              dict(kind="pattern", layer=1, head=0,
                                                   pattern=[v for row in pattern for v in row])]),
              B=3, T=5, seed=2)
    make_case("shortformer", base_config(n_layers=2, n_heads=3, d_model=6, d_head=2, vocab=7, n_ctx=6, n_out=4,
                                         pos="shortformer", norm="rms_nogain", d_mlp=10, causal=False,
                                         final_norm=False, unembed_bias=False,
                                         clamps=[dict(kind="zero_values", layer=1, head=2)]),
              B=4, T=6, seed=3)
    make_case("pooled", base_config(n_layers=1, n_heads=1, d_model=2, d_head=2, vocab=3, n_ctx=8, n_out=3,
                                    pos="learned", norm="rms_nogain", final_norm=False, d_mlp=8, causal=False,
                                    pooled=True, tied=True, attn_bias=False, unembed_bias=False),
              B=5, T=8, seed=4)


if __name__ == "__main__":
    main()
