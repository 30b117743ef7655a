// Rotary position embedding, Hugging Face LLaMA "rotate half" convention, applied IN PLACE.
//
// Layouts:
//   x : [R, N, C], N = B·T rows, C = H·headDim; head h is the contiguous chunk [h·headDim, (h+1)·headDim).
//       The position of row n is t = n mod T.
//   cosTable, sinTable : [T', headDim/2] with T' ≥ T (shared by all runs; no R dimension):
//       cos/sin of θ(t, i) = t · base^(−2i/headDim).
// For i < half = headDim/2, with a = x[i], b = x[i + half] inside a head:
//   forward : a' = a·cos θ − b·sin θ,  b' = b·cos θ + a·sin θ
//   backward: the inverse rotation (sin → −sin), which is the transpose of the forward (RoPE is linear).
// One thread per rotated pair; R is folded into the flat pair count (R·N·H·half).

struct Params {
  pairs: u32,   // R · B·T · H · half
  T: u32,
  H: u32,
  half: u32,    // headDim / 2
}

const WORKGROUP_SIZE: u32 = 256u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> cosTable: array<f32>;
@group(0) @binding(3) var<storage, read> sinTable: array<f32>;

fn rotate(wid: vec3<u32>, nwg: vec3<u32>, lid: u32, sinSign: f32) {
  let p = (wid.x + wid.y * nwg.x) * WORKGROUP_SIZE + lid;
  if (p >= params.pairs) { return; }
  let half = params.half;
  let pairsPerRow = params.H * half;
  let row = p / pairsPerRow;            // global row r·N + n
  let inRow = p - row * pairsPerRow;
  let h = inRow / half;
  let i = inRow - h * half;
  let t = row % params.T;               // (r·B·T + b·T + t) mod T
  let base = row * (pairsPerRow * 2u) + h * (half * 2u) + i;
  let c = cosTable[t * half + i];
  let s = sinSign * sinTable[t * half + i];
  let a = x[base];
  let b = x[base + half];
  x[base] = a * c - b * s;
  x[base + half] = b * c + a * s;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
  rotate(wid, nwg, lid, 1.0);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
  rotate(wid, nwg, lid, -1.0);
}
