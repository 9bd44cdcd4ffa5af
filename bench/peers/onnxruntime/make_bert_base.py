"""Writes the benchmark's model: a bert-base-shaped BertModel (12 layers, hidden 768, 12 heads,
intermediate 3072, vocabulary 30522) with seeded random weights, as a Hugging Face directory
(config.json, model.safetensors in f32) for zest and as ONNX (opset 14, dynamic batch and
length) for ONNX Runtime, exported from the PyTorch reference (tools/reference/modeling.py) so
both run the same weights. Usage, with Debian's torch: /usr/bin/python3 make_bert_base.py OUT_DIR
"""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "tools", "reference"))
import make_goldens  # noqa: E402
import modeling  # noqa: E402


class Exported(torch.nn.Module):
    def __init__(self, bert):
        super().__init__()
        self.bert = bert

    def forward(self, input_ids, attention_mask, token_type_ids):
        return self.bert.forward(input_ids, attention_mask, token_type_ids)


def main(out):
    hf_dir = os.path.join(out, "bert-base")
    onnx_path = os.path.join(out, "bert-base.onnx")
    c = make_goldens.bert_config(vocab=30522, hidden=768, heads=12, inter=3072, layers=12, dtype="float32",
                                 architecture="BertModel")
    c["max_position_embeddings"] = 512
    if not os.path.exists(os.path.join(hf_dir, "model.safetensors")):
        make_goldens.save_model(hf_dir, c, make_goldens.bert_weights(c, make_goldens.Init("bert-base"), ""))
    if not os.path.exists(onnx_path):
        model = modeling.load_model(hf_dir)
        ids = torch.randint(0, 30522, (2, 16))
        with torch.no_grad():
            torch.onnx.export(Exported(model), (ids, torch.ones(2, 16, dtype=torch.long), torch.zeros(2, 16, dtype=torch.long)),
                              onnx_path, input_names=["input_ids", "attention_mask", "token_type_ids"],
                              output_names=["last_hidden_state"], opset_version=14,
                              dynamic_axes={n: {0: "batch", 1: "length"} for n in
                                            ("input_ids", "attention_mask", "token_type_ids", "last_hidden_state")})
    print(hf_dir)
    print(onnx_path)


if __name__ == "__main__":
    main(sys.argv[1])
