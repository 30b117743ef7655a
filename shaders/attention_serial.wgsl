// Causal multi-head self-attention, SERIAL variant: the same three entry points, layouts and semantics
// as shaders/attention.wgsl, but one invocation per query row (forward, backwardRows) or per key column
// (backwardColumns), each looping serially in a fixed order. No workgroup memory, no barriers: software
// adapters (SwiftShader) pay dearly for barriers, and for T ≤ a few hundred real GPUs do fine too.
//
// Layouts (R = runs, N = B·T activation rows, C = H·headDim, heads are contiguous headDim chunks):
//   q, k, v, out, dOut, dq, dk, dv : f32 [R, B·T, C]      element (r, b·T + t, h·headDim + d)
//   probs, dScores                 : f32 [R, B, H, T, T]  element (r, b, h, i, j); j > i is exactly 0
//
// Grid: the flattened (b, h, t) index `(b·H + h)·T + t` = (wid.x + wid.y·nwg.x)·WG + lid, where the
// workgroup count ceil(B·H·T / WG) is split over x and y by grid2d; z = r. For forward and backwardRows
// t is the query row i, for backwardColumns it is the key column j. Invocations past B·H·T return.
// Every sum runs over j (or i, or d) in increasing order by one invocation: bit-identical run to run.
//
// Entry points (bindings identical to shaders/attention.wgsl):
//   forward          : q, k, v            → probs, out
//   backwardRows     : dOut, v, probs, k  → dScores, dq   dS_ij = P_ij (dP_ij − Σ_j' P_ij' dP_ij')
//   backwardColumns  : dOut, q, probs, dS → dk, dv        (must run after backwardRows)

struct Params {
  B: u32,
  T: u32,
  H: u32,
  headDim: u32,
  scale: f32,   // 1/sqrt(headDim)
}

// Invocations per workgroup (the builder passes the value it sizes the grid with).
override WG: u32 = 64u;

const NEG_BIG: f32 = -3.0e38;

@group(0) @binding(0) var<uniform> params: Params;

// Which (r, b, h, t) an invocation handles. `valid` is false for the padding invocations.
struct Item {
  valid: bool,
  r: u32,
  t: u32,
  index: u32,      // (b·H + h)·T + t
  rowsPerRun: u32, // B·H·T
  seqBase: u32,    // activation row of token 0 of this (r, b) sequence: (r·B + b)·T
  channelBase: u32,// h·headDim
}

fn decode(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> Item {
  var item: Item;
  let T = params.T;
  item.rowsPerRun = params.B * params.H * T;
  item.index = (wid.x + wid.y * nwg.x) * WG + lid;
  item.valid = item.index < item.rowsPerRun;
  item.r = wid.z;
  item.t = item.index % T;
  let h = (item.index / T) % params.H;
  let b = item.index / (T * params.H);
  item.seqBase = (item.r * params.B + b) * T;
  item.channelBase = h * params.headDim;
  return item;
}

fn channels() -> u32 {
  return params.H * params.headDim;
}

// ---------------------------------------------------------------------------------------------
// forward: one invocation per query row i.
//   probs[r,b,h,i,j] = softmax_{j ≤ i}(scale · q_i·k_j), 0 for j > i
//   out[r, b·T+i, h·hd+d] = Σ_{j ≤ i} probs[r,b,h,i,j] · v[r, b·T+j, h·hd+d]

@group(0) @binding(1) var<storage, read> fq: array<f32>;
@group(0) @binding(2) var<storage, read> fk: array<f32>;
@group(0) @binding(3) var<storage, read> fv: array<f32>;
@group(0) @binding(4) var<storage, read_write> fprobs: array<f32>;
@group(0) @binding(5) var<storage, read_write> fout: array<f32>;

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
  let item = decode(wid, nwg, lid);
  if (!item.valid) {
    return;
  }
  let T = params.T;
  let hd = params.headDim;
  let C = channels();
  let i = item.t;
  let n = i + 1u;                                   // keys 0..i are visible
  let pBase = (item.r * item.rowsPerRun + item.index) * T;
  let qBase = (item.seqBase + i) * C + item.channelBase;

  // Scaled scores into the probs row, then exp(s − max) in place, then normalise in place.
  var rowMax = NEG_BIG;
  for (var j = 0u; j < n; j = j + 1u) {
    let kBase = (item.seqBase + j) * C + item.channelBase;
    var s = 0.0;
    for (var d = 0u; d < hd; d = d + 1u) {
      s = s + fq[qBase + d] * fk[kBase + d];
    }
    s = s * params.scale;
    fprobs[pBase + j] = s;
    rowMax = max(rowMax, s);
  }
  for (var j = n; j < T; j = j + 1u) {
    fprobs[pBase + j] = 0.0;
  }
  var sum = 0.0;
  for (var j = 0u; j < n; j = j + 1u) {
    let e = exp(fprobs[pBase + j] - rowMax);
    fprobs[pBase + j] = e;
    sum = sum + e;
  }
  let inverse = 1.0 / sum;                          // ≥ 1 term equal to exp(0) = 1: never 0
  for (var j = 0u; j < n; j = j + 1u) {
    fprobs[pBase + j] = fprobs[pBase + j] * inverse;
  }

  // out_i = Σ_j P_ij v_j, each channel summed over j in increasing order.
  for (var d = 0u; d < hd; d = d + 1u) {
    var acc = 0.0;
    for (var j = 0u; j < n; j = j + 1u) {
      acc = acc + fprobs[pBase + j] * fv[(item.seqBase + j) * C + item.channelBase + d];
    }
    fout[qBase + d] = acc;
  }
}

// ---------------------------------------------------------------------------------------------
// backwardRows: one invocation per query row i.
//   dP_ij = dO_i·v_j;  dS_ij = P_ij (dP_ij − Σ_j' P_ij' dP_ij')  → dScores (0 for j > i)
//   dq_i  = scale Σ_j dS_ij k_j                                   → dq (overwritten)

@group(0) @binding(1) var<storage, read> rdOut: array<f32>;
@group(0) @binding(2) var<storage, read> rv: array<f32>;
@group(0) @binding(3) var<storage, read> rprobs: array<f32>;
@group(0) @binding(4) var<storage, read> rk: array<f32>;
@group(0) @binding(5) var<storage, read_write> rdScores: array<f32>;
@group(0) @binding(6) var<storage, read_write> rdq: array<f32>;

@compute @workgroup_size(WG)
fn backwardRows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
  let item = decode(wid, nwg, lid);
  if (!item.valid) {
    return;
  }
  let T = params.T;
  let hd = params.headDim;
  let C = channels();
  let i = item.t;
  let n = i + 1u;
  let pBase = (item.r * item.rowsPerRun + item.index) * T;
  let qBase = (item.seqBase + i) * C + item.channelBase;

  // dP_ij into the dScores row, and Σ_j P_ij dP_ij.
  var rowDot = 0.0;
  for (var j = 0u; j < n; j = j + 1u) {
    let vBase = (item.seqBase + j) * C + item.channelBase;
    var dp = 0.0;
    for (var d = 0u; d < hd; d = d + 1u) {
      dp = dp + rdOut[qBase + d] * rv[vBase + d];
    }
    rdScores[pBase + j] = dp;
    rowDot = rowDot + rprobs[pBase + j] * dp;
  }
  for (var j = n; j < T; j = j + 1u) {
    rdScores[pBase + j] = 0.0;
  }
  for (var j = 0u; j < n; j = j + 1u) {
    rdScores[pBase + j] = rprobs[pBase + j] * (rdScores[pBase + j] - rowDot);
  }

  for (var d = 0u; d < hd; d = d + 1u) {
    var acc = 0.0;
    for (var j = 0u; j < n; j = j + 1u) {
      acc = acc + rdScores[pBase + j] * rk[(item.seqBase + j) * C + item.channelBase + d];
    }
    rdq[qBase + d] = acc * params.scale;
  }
}

// ---------------------------------------------------------------------------------------------
// backwardColumns: one invocation per key column j (the flattened index decodes to t = j).
//   dv_j = Σ_{i ≥ j} P_ij dO_i;   dk_j = scale Σ_{i ≥ j} dS_ij q_i    (both overwritten)

@group(0) @binding(1) var<storage, read> cdOut: array<f32>;
@group(0) @binding(2) var<storage, read> cq: array<f32>;
@group(0) @binding(3) var<storage, read> cprobs: array<f32>;
@group(0) @binding(4) var<storage, read> cdScores: array<f32>;
@group(0) @binding(5) var<storage, read_write> cdk: array<f32>;
@group(0) @binding(6) var<storage, read_write> cdv: array<f32>;

@compute @workgroup_size(WG)
fn backwardColumns(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32) {
  let item = decode(wid, nwg, lid);
  if (!item.valid) {
    return;
  }
  let T = params.T;
  let hd = params.headDim;
  let C = channels();
  let j = item.t;
  // probs/dScores entry (r, b, h, i, j) = headBase + i·T + j
  let headBase = (item.r * item.rowsPerRun + item.index - j) * T;
  let kBase = (item.seqBase + j) * C + item.channelBase;

  for (var d = 0u; d < hd; d = d + 1u) {
    var accV = 0.0;
    var accK = 0.0;
    for (var i = j; i < T; i = i + 1u) {
      let a = (item.seqBase + i) * C + item.channelBase + d;
      accV = accV + cprobs[headBase + i * T + j] * cdOut[a];
      accK = accK + cdScores[headBase + i * T + j] * cq[a];
    }
    cdv[kBase + d] = accV;
    cdk[kBase + d] = accK * params.scale;
  }
}
