/**
 * The Hugging Face `config.json` (LlamaConfig) matching a playground model, and the way back.
 * See docs/hf-mapping.md for the whole mapping.
 */
import { headDim, type ModelConfig } from '../model/config';
import { modelConfigFromUnknown } from './modelConfigJson';

/** LlamaConfig fields (transformers ≥ 4.40) of one playground model, plus the [MASK] id. */
export interface HfLlamaConfig {
  architectures: ['LlamaForCausalLM'];
  model_type: 'llama';
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  head_dim: number;
  max_position_embeddings: number;
  rms_norm_eps: number;
  rope_theta: number;
  rope_scaling: null;
  hidden_act: 'silu';
  attention_bias: false;
  attention_dropout: 0;
  mlp_bias: false;
  tie_word_embeddings: false;
  pretraining_tp: 1;
  initializer_range: number;
  use_cache: true;
  torch_dtype: 'float32';
  /** The playground has no BOS/EOS/PAD tokens; null keeps LlamaConfig's defaults (1, 2) from applying. */
  bos_token_id: null;
  eos_token_id: null;
  pad_token_id: null;
  /** Custom: the reserved [MASK] id that MEAP writes into masked input positions. */
  mask_token_id: number;
}

export function hfConfigFor(c: ModelConfig): HfLlamaConfig {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    vocab_size: c.vocabSize,
    hidden_size: c.dModel,
    intermediate_size: c.dFF,
    num_hidden_layers: c.layers,
    num_attention_heads: c.heads,
    num_key_value_heads: c.heads,
    head_dim: headDim(c),
    max_position_embeddings: c.context,
    rms_norm_eps: c.normEps,
    rope_theta: c.ropeBase,
    rope_scaling: null,
    hidden_act: 'silu',
    attention_bias: false,
    attention_dropout: 0,
    mlp_bias: false,
    tie_word_embeddings: false,
    pretraining_tp: 1,
    initializer_range: 0.02,
    use_cache: true,
    torch_dtype: 'float32',
    bos_token_id: null,
    eos_token_id: null,
    pad_token_id: null,
    mask_token_id: c.maskId,
  };
}

/** The config.json text (2-space indented, trailing newline), as transformers writes it. */
export function hfConfigJson(c: ModelConfig): string {
  return `${JSON.stringify(hfConfigFor(c), null, 2)}\n`;
}

/**
 * A ModelConfig from a parsed config.json (ours, or one transformers re-saved). Refuses, naming the field,
 * anything the playground's model cannot represent (GQA, biases, tied embeddings, RoPE scaling, other
 * activations). Throws RangeError.
 */
export function modelConfigFromHf(value: unknown): ModelConfig {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new RangeError('config.json must hold a JSON object');
  const j = value as Record<string, unknown>;
  if (j.model_type !== 'llama') throw new RangeError(`config.json: model_type must be "llama", got ${JSON.stringify(j.model_type)}`);
  const num = (field: string): number => {
    const v = j[field];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new RangeError(`config.json: ${field} must be a number, got ${JSON.stringify(v)}`);
    return v;
  };
  const heads = num('num_attention_heads');
  if (j.num_key_value_heads !== undefined && j.num_key_value_heads !== heads) {
    throw new RangeError(`config.json: num_key_value_heads (${JSON.stringify(j.num_key_value_heads)}) must equal num_attention_heads (${heads}); grouped-query attention is not supported`);
  }
  const requireValue = (field: string, allowed: unknown[]) => {
    if (j[field] !== undefined && !allowed.includes(j[field])) {
      throw new RangeError(`config.json: ${field} must be ${allowed.map((a) => JSON.stringify(a)).join(' or ')}, got ${JSON.stringify(j[field])}`);
    }
  };
  requireValue('hidden_act', ['silu']);
  requireValue('attention_bias', [false]);
  requireValue('mlp_bias', [false]);
  requireValue('tie_word_embeddings', [false]);
  requireValue('rope_scaling', [null]);
  const maskId = j.mask_token_id;
  const config = {
    vocabSize: num('vocab_size'), maskId, layers: num('num_hidden_layers'), dModel: num('hidden_size'), heads,
    dFF: num('intermediate_size'), context: num('max_position_embeddings'),
    ropeBase: j.rope_theta === undefined ? 10000 : num('rope_theta'), normEps: num('rms_norm_eps'),
  };
  if (j.head_dim !== undefined && j.head_dim !== null && j.head_dim !== config.dModel / heads) {
    throw new RangeError(`config.json: head_dim (${JSON.stringify(j.head_dim)}) must be hidden_size / num_attention_heads = ${config.dModel / heads}`);
  }
  if (maskId === undefined) throw new RangeError('config.json: mask_token_id is missing (the playground needs its [MASK] id)');
  return modelConfigFromUnknown(config);
}
