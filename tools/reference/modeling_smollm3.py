"""SmolLM3ForCausalLM (transformers models/smollm3/modular_smollm3.py): Llama (LlamaAttention,
LlamaDecoderLayer, LlamaMLP with mlp_bias) whose layers may skip rope:
- no_rope_layers[i] == 1: layer i applies rope to q and k; 0: a NoPE layer (q, k unrotated).
  When no_rope_layers is absent it is [int((i + 1) % no_rope_layer_interval != 0)] (every
  no_rope_layer_interval-th layer is NoPE; interval default 4); a given list wins.
- layer_types: when absent, "sliding_attention" for NoPE layers only if use_sliding_window and
  sliding_window are set; a sliding layer uses sliding_window only if use_sliding_window.
- head_dim = hidden_size / num_attention_heads (SmolLM3Config has no head_dim key; LlamaAttention
  would read one if a config.json carried it); q/k/v/o bias from
  attention_bias; tie_word_embeddings defaults to True; rope_theta default 2e6.
"""
import modeling


class SmolLM3(modeling.Llama):
    default_theta = 2000000.0

    def __init__(self, config, weights):
        interval = config.get("no_rope_layer_interval", 4)
        layers = config.get("no_rope_layers")
        if layers is None:
            layers = [int((i + 1) % interval != 0) for i in range(config["num_hidden_layers"])]
        if len(layers) < config["num_hidden_layers"] or any(v not in (0, 1) for v in layers):
            raise ValueError(f"no_rope_layers {layers} must give 0 or 1 for each layer")
        self.rope_layers = layers
        super().__init__(config, weights)
        self.qkv_bias = self.o_bias = config.get("attention_bias", False)

    def tie_default(self):
        return True

    def uses_rope(self, i):
        return bool(self.rope_layers[i])

    def layer_window(self, i):
        use = self.c.get("use_sliding_window", False)
        window = self.c.get("sliding_window")
        layer_types = self.c.get("layer_types")
        if layer_types is None:
            layer_types = ["sliding_attention" if use and window is not None and not self.rope_layers[j]
                           else "full_attention" for j in range(self.n_layer)]
        return window if use and layer_types[i] == "sliding_attention" else None


MODEL = SmolLM3
