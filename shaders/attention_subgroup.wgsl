// Causal multi-head self-attention with subgroup reductions: the 'subgroup' variant of the three entry
// points of attention.wgsl (same Params, bindings, layouts, grid and results; read that file for the
// math). A file of its own because `enable subgroups;` fails to compile on a device without the
// 'subgroups' feature: src/kernels/attention.ts builds it only where the device has it.
//
// The only difference from attention.wgsl: the row reductions (the softmax max and sum in `forward`, the
// Σ_j P_ij dP_ij in `backwardRows`) use subgroupMax / subgroupAdd within each subgroup, then each
// subgroup's first invocation writes its result into its own slot (the others write the identity: -3e38
// for max, 0 for sums) and after one barrier every thread combines all WG slots in slot order — instead of
// a log2(WG)-barrier tree. Combining with identities is exact, so the result is the subgroup results
// combined in a fixed order. The per-channel sums (out, dq, dk, dv) are unchanged: one thread per channel,
// keys in order. `backwardColumns` has no row reduction and is attention.wgsl's, verbatim.
//
// Determinism: subgroupAdd's internal order is implementation-defined but fixed for a given device,
// driver and pipeline (the assumption the project makes for every subgroup kernel; see ARCHITECTURE.md);
// test/attention.test.ts checks repeat runs bit for bit on SwiftShader (subgroup size 4). Nothing assumes
// a subgroup size or how invocations map to subgroups.

enable subgroups;

struct Params {
  B: u32,
  T: u32,
  H: u32,
  headDim: u32,
  scale: f32,   // 1/sqrt(headDim)
}

const WG: u32 = 64u;
const NEG_BIG: f32 = -3.0e38;

@group(0) @binding(0) var<uniform> params: Params;

var<workgroup> slotsMax: array<f32, WG>;
var<workgroup> slotsSum: array<f32, WG>;
var<workgroup> tileA: array<f32, WG>;
var<workgroup> tileB: array<f32, WG>;

// Which (r, b, h, t) a workgroup handles. `valid` is false for the padding workgroups of grid2d.
struct Row {
  valid: bool,
  r: u32,
  b: u32,
  h: u32,
  t: u32,
  rowInRun: u32,   // (b·H + h)·T + t
  rowsPerRun: u32, // B·H·T
  seqBase: u32,    // activation row of token 0 of this (r, b) sequence: (r·B + b)·T
  channelBase: u32,// h·headDim
}

fn decodeRow(wid: vec3<u32>, nwg: vec3<u32>) -> Row {
  var row: Row;
  let T = params.T;
  row.rowsPerRun = params.B * params.H * T;
  row.rowInRun = wid.x + wid.y * nwg.x;
  row.valid = row.rowInRun < row.rowsPerRun;
  row.r = wid.z;
  row.t = row.rowInRun % T;
  row.h = (row.rowInRun / T) % params.H;
  row.b = row.rowInRun / (T * params.H);
  row.seqBase = (row.r * params.B + row.b) * T;
  row.channelBase = row.h * params.headDim;
  return row;
}

fn channels() -> u32 {
  return params.H * params.headDim;
}

// Reductions over the workgroup: subgroup operations, then the WG slots combined in slot order. Each must
// be called in uniform control flow, and each slot array at most once per entry point (never reused).
fn slotMax(lid: u32, sgId: u32, value: f32) -> f32 {
  let m = subgroupMax(value);
  slotsMax[lid] = select(NEG_BIG, m, sgId == 0u);
  workgroupBarrier();
  var result = NEG_BIG;
  for (var i = 0u; i < WG; i = i + 1u) {
    result = max(result, slotsMax[i]);
  }
  return result;
}

fn slotSum(lid: u32, sgId: u32, value: f32) -> f32 {
  let s = subgroupAdd(value);
  slotsSum[lid] = select(0.0, s, sgId == 0u);
  workgroupBarrier();
  var result = 0.0;
  for (var i = 0u; i < WG; i = i + 1u) {
    result = result + slotsSum[i];
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// forward: one workgroup per query row i.
//   probs[r,b,h,i,j] = softmax_{j ≤ i}(scale · q_i·k_j), 0 for j > i
//   out[r, b·T+i, h·hd+d] = Σ_{j ≤ i} probs[r,b,h,i,j] · v[r, b·T+j, h·hd+d]

@group(0) @binding(1) var<storage, read> fq: array<f32>;
@group(0) @binding(2) var<storage, read> fk: array<f32>;
@group(0) @binding(3) var<storage, read> fv: array<f32>;
@group(0) @binding(4) var<storage, read_write> fprobs: array<f32>;
@group(0) @binding(5) var<storage, read_write> fout: array<f32>;

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) sgId: u32) {
  let row = decodeRow(wid, nwg);
  if (!row.valid) {
    return;
  }
  let T = params.T;
  let hd = params.headDim;
  let C = channels();
  let i = row.t;
  let n = i + 1u;                                   // keys 0..i are visible
  let pBase = (row.r * row.rowsPerRun + row.rowInRun) * T;
  let qBase = (row.seqBase + i) * C + row.channelBase;

  // Scores (kept in the probs row, each entry written and re-read only by its owner thread).
  var localMax = NEG_BIG;
  for (var j = lid; j < n; j = j + WG) {
    let kBase = (row.seqBase + j) * C + row.channelBase;
    var s = 0.0;
    for (var d = 0u; d < hd; d = d + 1u) {
      s = s + fq[qBase + d] * fk[kBase + d];
    }
    s = s * params.scale;
    fprobs[pBase + j] = s;
    localMax = max(localMax, s);
  }
  for (var j = n + lid; j < T; j = j + WG) {
    fprobs[pBase + j] = 0.0;
  }
  let rowMax = slotMax(lid, sgId, localMax);

  var localSum = 0.0;
  for (var j = lid; j < n; j = j + WG) {
    let e = exp(fprobs[pBase + j] - rowMax);
    fprobs[pBase + j] = e;
    localSum = localSum + e;
  }
  let inverse = 1.0 / slotSum(lid, sgId, localSum);      // ≥ 1 term equal to exp(0) = 1: never 0
  for (var j = lid; j < n; j = j + WG) {
    fprobs[pBase + j] = fprobs[pBase + j] * inverse;
  }

  // out_i = Σ_j P_ij v_j: probabilities staged WG at a time in workgroup memory (thread lid loads
  // key j0 + lid, which it owns), each channel summed serially over j by one thread.
  for (var d0 = 0u; d0 < hd; d0 = d0 + WG) {
    let d = d0 + lid;
    var acc = 0.0;
    for (var j0 = 0u; j0 < n; j0 = j0 + WG) {
      if (j0 + lid < n) {
        tileA[lid] = fprobs[pBase + j0 + lid];
      }
      workgroupBarrier();
      if (d < hd) {
        let count = min(WG, n - j0);
        for (var jj = 0u; jj < count; jj = jj + 1u) {
          acc = acc + tileA[jj] * fv[(row.seqBase + j0 + jj) * C + row.channelBase + d];
        }
      }
      workgroupBarrier();
    }
    if (d < hd) {
      fout[qBase + d] = acc;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// backwardRows: one workgroup per query row i.
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
                @builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) sgId: u32) {
  let row = decodeRow(wid, nwg);
  if (!row.valid) {
    return;
  }
  let T = params.T;
  let hd = params.headDim;
  let C = channels();
  let i = row.t;
  let n = i + 1u;
  let pBase = (row.r * row.rowsPerRun + row.rowInRun) * T;
  let qBase = (row.seqBase + i) * C + row.channelBase;

  var localDot = 0.0;
  for (var j = lid; j < n; j = j + WG) {
    let vBase = (row.seqBase + j) * C + row.channelBase;
    var dp = 0.0;
    for (var d = 0u; d < hd; d = d + 1u) {
      dp = dp + rdOut[qBase + d] * rv[vBase + d];
    }
    rdScores[pBase + j] = dp;
    localDot = localDot + rprobs[pBase + j] * dp;
  }
  for (var j = n + lid; j < T; j = j + WG) {
    rdScores[pBase + j] = 0.0;
  }
  let rowDot = slotSum(lid, sgId, localDot);
  for (var j = lid; j < n; j = j + WG) {
    rdScores[pBase + j] = rprobs[pBase + j] * (rdScores[pBase + j] - rowDot);
  }

  for (var d0 = 0u; d0 < hd; d0 = d0 + WG) {
    let d = d0 + lid;
    var acc = 0.0;
    for (var j0 = 0u; j0 < n; j0 = j0 + WG) {
      if (j0 + lid < n) {
        tileA[lid] = rdScores[pBase + j0 + lid];
      }
      workgroupBarrier();
      if (d < hd) {
        let count = min(WG, n - j0);
        for (var jj = 0u; jj < count; jj = jj + 1u) {
          acc = acc + tileA[jj] * rk[(row.seqBase + j0 + jj) * C + row.channelBase + d];
        }
      }
      workgroupBarrier();
    }
    if (d < hd) {
      rdq[qBase + d] = acc * params.scale;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// backwardColumns: one workgroup per key column j (the row index decodes to t = j).
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
  let row = decodeRow(wid, nwg);
  if (!row.valid) {
    return;
  }
  let T = params.T;
  let hd = params.headDim;
  let C = channels();
  let j = row.t;
  // probs/dScores entry (r, b, h, i, j) = headBase + i·T + j
  let headBase = (row.r * row.rowsPerRun + row.rowInRun - j) * T;
  let kBase = (row.seqBase + j) * C + row.channelBase;

  for (var d0 = 0u; d0 < hd; d0 = d0 + WG) {
    let d = d0 + lid;
    var accV = 0.0;
    var accK = 0.0;
    for (var i0 = j; i0 < T; i0 = i0 + WG) {
      let i = i0 + lid;
      if (i < T) {
        tileA[lid] = cprobs[headBase + i * T + j];
        tileB[lid] = cdScores[headBase + i * T + j];
      }
      workgroupBarrier();
      if (d < hd) {
        let count = min(WG, T - i0);
        for (var ii = 0u; ii < count; ii = ii + 1u) {
          let a = (row.seqBase + i0 + ii) * C + row.channelBase + d;
          accV = accV + tileA[ii] * cdOut[a];
          accK = accK + tileB[ii] * cq[a];
        }
      }
      workgroupBarrier();
    }
    if (d < hd) {
      cdv[kBase + d] = accV;
      cdk[kBase + d] = accK * params.scale;
    }
  }
}
