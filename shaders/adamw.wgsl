// AdamW, exactly torch.optim.AdamW (decoupled weight decay), one optimizer per run, on GPU-side clip scales.
//
// Per element j of run r (P parameters per run):
//   skip the run entirely (params, m, v untouched) when hyper[r, 7] == 0 (frozen) or stats[r, 0] is non-finite
//   g = grads[r, j] · stats[r, 1]                       (clipScale from grad_norm.wgsl)
//   m = β1·m + (1−β1)·g
//   v = β2·v + (1−β2)·g²
//   p = p · (1 − lr·wd·decay[j])
//   p = p − (lr / bc1) · m / (sqrt(v) / sqrt(bc2) + eps)
// hyper [R, 8] = (lr, β1, β2, eps, weightDecay, bc1 = 1−β1^t, bc2 = 1−β2^t, active), rewritten every step.

struct Params {
  P: u32,   // parameters per run
}

const WORKGROUP_SIZE: u32 = 256u;
const HYPER_STRIDE: u32 = 8u;
const EXPONENT_MASK: u32 = 0x7f800000u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> weights: array<f32>;   // [R, P]
@group(0) @binding(2) var<storage, read> grads: array<f32>;           // [R, P]
@group(0) @binding(3) var<storage, read_write> moment1: array<f32>;   // m [R, P]
@group(0) @binding(4) var<storage, read_write> moment2: array<f32>;   // v [R, P]
@group(0) @binding(5) var<storage, read> decay: array<f32>;           // [P], 1 = decayed, 0 = not
@group(0) @binding(6) var<storage, read> hyper: array<f32>;           // [R, 8]
@group(0) @binding(7) var<storage, read> stats: array<f32>;           // [R, 2] = (norm, clipScale)

fn isNonFinite(x: f32) -> bool {
  return (bitcast<u32>(x) & EXPONENT_MASK) == EXPONENT_MASK;
}

// Grid: (x, y) = blocks of WORKGROUP_SIZE parameters split by grid2d, z = run.
@compute @workgroup_size(WORKGROUP_SIZE)
fn update(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
  let j = (wid.x + wid.y * nwg.x) * WORKGROUP_SIZE + lid;
  let run = wid.z;
  if (j >= params.P) { return; }
  let h = run * HYPER_STRIDE;
  if (hyper[h + 7u] == 0.0) { return; }               // frozen run
  if (isNonFinite(stats[run * 2u])) { return; }        // NaN/Inf gradient: skip the step for this run

  let lr = hyper[h];
  let beta1 = hyper[h + 1u];
  let beta2 = hyper[h + 2u];
  let eps = hyper[h + 3u];
  let weightDecay = hyper[h + 4u];
  let bc1 = hyper[h + 5u];
  let bc2 = hyper[h + 6u];
  let clipScale = stats[run * 2u + 1u];

  let i = run * params.P + j;
  let g = grads[i] * clipScale;
  let m = beta1 * moment1[i] + (1.0 - beta1) * g;
  let v = beta2 * moment2[i] + (1.0 - beta2) * g * g;
  var p = weights[i] * (1.0 - lr * weightDecay * decay[j]);
  let denom = sqrt(v) / sqrt(bc2) + eps;
  p = p - (lr / bc1) * (m / denom);
  moment1[i] = m;
  moment2[i] = v;
  weights[i] = p;
}
