#!/usr/bin/env python3
"""Reference embeddings with onnxruntime + HF tokenizers for the same model files leann-edge uses.

Used for: golden vectors (models/golden.py calls into this), the encoder speed peer
(benches/ort_speed.py), and embedding tables for the table benchmark.

  ort_embed.py table MODEL_DIR corpus.jsonl queries.jsonl OUT_DIR [--threads N]
      writes OUT_DIR/passages.f32 (N×384 LE f32, corpus order), OUT_DIR/queries.f32, OUT_DIR/*.ids
Passage input = title + "\\n\\n" + text when the title is non-empty (as leann-edge embeds it).
"""
import json, os, sys, time
import numpy as np


def load(model_dir, threads=1, max_tokens=256):
    import onnxruntime as ort
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_tokens)
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(os.path.join(model_dir, "model.onnx"), so, providers=["CPUExecutionProvider"])
    return tok, sess


def embed(tok, sess, texts):
    """Embed a batch: pad to the longest, mask-aware mean pooling, L2 normalise."""
    encs = tok.encode_batch(list(texts))
    L = max(1, max(len(e.ids) for e in encs))
    ids = np.zeros((len(encs), L), dtype=np.int64)
    mask = np.zeros((len(encs), L), dtype=np.int64)
    for i, e in enumerate(encs):
        ids[i, :len(e.ids)] = e.ids
        mask[i, :len(e.ids)] = 1
    feeds = {"input_ids": ids, "attention_mask": mask}
    names = [i.name for i in sess.get_inputs()]
    if "token_type_ids" in names:
        feeds["token_type_ids"] = np.zeros_like(ids)
    out = sess.run(None, feeds)[0]
    m = mask[:, :, None].astype(np.float32)
    v = (out * m).sum(1) / np.maximum(m.sum(1), 1e-9)
    v /= np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
    return v.astype(np.float32)


def embed_all(tok, sess, texts, batch=32):
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # length buckets: little padding
    out = np.zeros((len(texts), 384), dtype=np.float32)
    t0 = time.time()
    for s in range(0, len(order), batch):
        idx = order[s:s + batch]
        out[idx] = embed(tok, sess, [texts[i] for i in idx])
        if (s // batch) % 100 == 0:
            print(f"  {s}/{len(texts)} {time.time()-t0:.0f}s", file=sys.stderr, flush=True)
    return out


def main():
    if len(sys.argv) < 7 and sys.argv[1:2] == ["table"]:
        model_dir, corpus, queries, out_dir = sys.argv[2:6]
        threads = int(sys.argv[sys.argv.index("--threads") + 1]) if "--threads" in sys.argv else 1
        tok, sess = load(model_dir, threads)
        os.makedirs(out_dir, exist_ok=True)
        for name, path, fmt in (("queries", queries, "q"), ("passages", corpus, "p")):
            ids, texts = [], []
            with open(path) as f:
                for line in f:
                    if not line.strip():
                        continue
                    r = json.loads(line)
                    ids.append(r["id"])
                    t = r.get("text", "")
                    title = r.get("title", "") if fmt == "p" else ""
                    texts.append(f"{title}\n\n{t}" if title else t)
            v = embed_all(tok, sess, texts)
            v.tofile(os.path.join(out_dir, f"{name}.f32"))
            with open(os.path.join(out_dir, f"{name}.ids"), "w") as f:
                f.write("\n".join(ids) + "\n")
            print(f"{name}: {len(ids)} × 384 -> {out_dir}", file=sys.stderr)
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
