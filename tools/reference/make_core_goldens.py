#!/usr/bin/python3
"""Golden values for zest's core tests, from independent references (numpy, PyTorch).

tests/data/kernels/half.json: f32 values (bit patterns) with PyTorch's f16 and bf16 roundings.
tests/data/fixtures/*/tensors.json: every tensor's dtype, shape, f64 sum and first values, read
with numpy from the safetensors files (a reader that shares no code with zest's).
Run: /usr/bin/python3 tools/reference/make_core_goldens.py
"""
import json
import pathlib
import struct

import numpy as np
import torch

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
NUMPY_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I32": np.int32, "I64": np.int64,
                "I8": np.int8, "U8": np.uint8}


def read_safetensors(path):
    blob = path.read_bytes()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    header.pop("__metadata__", None)
    for name, entry in sorted(header.items()):
        begin, end = entry["data_offsets"]
        raw = blob[8 + n + begin:8 + n + end]
        if entry["dtype"] == "BF16":
            values = (np.frombuffer(raw, np.uint16).astype(np.uint32) << 16).view(np.float32)
        else:
            values = np.frombuffer(raw, NUMPY_DTYPES[entry["dtype"]])
        yield name, entry["dtype"], entry["shape"], values.astype(np.float64)


def tensor_goldens():
    for model_dir in sorted((DATA / "fixtures").iterdir()):
        tensors = {name: {"dtype": dtype, "shape": shape, "sum": float(v.sum()), "head": v[:4].tolist()}
                   for name, dtype, shape, v in read_safetensors(model_dir / "model.safetensors")}
        (model_dir / "tensors.json").write_text(json.dumps(tensors, indent=1) + "\n")


def half_goldens():
    rng = np.random.default_rng(1234)
    special = np.array([0.0, -0.0, 1.0, -1.0, 65504.0, 65520.0, 65519.99, 1e-8, 5.96e-8, 2.98e-8, 2.99e-8, 6.1e-5,
                        1.0 + 2**-11, 1.0 + 3 * 2**-11, 1.0 + 2**-8, 1.0 + 3 * 2**-8, 3.4e38, 1e-40, -1e-45,
                        np.inf, -np.inf], np.float32)
    bits = rng.integers(0, 2**32, 3000, dtype=np.uint64).astype(np.uint32).view(np.float32)
    normal = rng.standard_normal(2000).astype(np.float32) * np.float32(100)
    values = np.concatenate([special, bits[np.isfinite(bits)], normal])
    t = torch.from_numpy(values)
    f16 = t.to(torch.float16).view(torch.int16).numpy().view(np.uint16)
    bf16 = t.to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
    cases = [[int(v), int(h), int(b)] for v, h, b in zip(values.view(np.uint32), f16, bf16)]
    out = DATA / "kernels"
    out.mkdir(parents=True, exist_ok=True)
    (out / "half.json").write_text(json.dumps({"reference": f"torch {torch.__version__}", "columns":
                                               ["f32_bits", "f16_bits", "bf16_bits"], "cases": cases}) + "\n")


if __name__ == "__main__":
    tensor_goldens()
    half_goldens()
