// SwiGLU gating: h = silu(gate) · up, silu(g) = g · sigmoid(g).
//
// Layouts: gate, up, h, dh, dGate, dUp : [R, N, F] (elementwise, so R is folded into `count`).
// backward: dGate = dh · up · sigmoid(g) · (1 + g · (1 − sigmoid(g))),  dUp = dh · silu(g)
// (both outputs are overwritten).

struct Params {
  count: u32,   // R · N · F
}

const WORKGROUP_SIZE: u32 = 256u;

@group(0) @binding(0) var<uniform> params: Params;

fn linearIndex(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
  return (wid.x + wid.y * nwg.x) * WORKGROUP_SIZE + lid;
}

// Never overflows: exp() only ever sees a non-positive argument.
fn sigmoid(g: f32) -> f32 {
  if (g >= 0.0) {
    return 1.0 / (1.0 + exp(-g));
  }
  let e = exp(g);
  return e / (1.0 + e);
}

@group(0) @binding(1) var<storage, read> fGate: array<f32>;
@group(0) @binding(2) var<storage, read> fUp: array<f32>;
@group(0) @binding(3) var<storage, read_write> fH: array<f32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
  let i = linearIndex(wid, nwg, lid);
  if (i >= params.count) { return; }
  let g = fGate[i];
  fH[i] = g * sigmoid(g) * fUp[i];
}

@group(0) @binding(1) var<storage, read> bDh: array<f32>;
@group(0) @binding(2) var<storage, read> bGate: array<f32>;
@group(0) @binding(3) var<storage, read> bUp: array<f32>;
@group(0) @binding(4) var<storage, read_write> bDGate: array<f32>;
@group(0) @binding(5) var<storage, read_write> bDUp: array<f32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
  let i = linearIndex(wid, nwg, lid);
  if (i >= params.count) { return; }
  let g = bGate[i];
  let dh = bDh[i];
  let s = sigmoid(g);
  bDUp[i] = dh * g * s;
  bDGate[i] = dh * bUp[i] * s * (1.0 + g * (1.0 - s));
}
