// Fused next-token cross-entropy: softmax + per-row loss (+ gradient of the mean loss), and the mean.
//
// Layouts (run dimension R first, row-major; N = B·T rows):
//   logits, dLogits : f32 [R, N, V]   row n = b·T + t predicts the CLEAN next token
//   tokens          : u32 [R, B, T+1] target of row (b, t) = tokens[r, b, t+1] (never the [MASK] id)
//   rowLoss         : f32 [R, N]      logsumexp(logits[r,n,:]) − logits[r,n,target]
//   lossMean        : f32 [R]         mean over the N rows of rowLoss[r, :]
//
// `rows` (evaluation: loss only, binds no dLogits) and `rowsGrad` (training: also
//   dLogits[r,n,v] = (softmax[r,n,v] − [v == target]) · gradScale, gradScale = 1/N for the mean loss)
//   share the same code and give bit-identical rowLoss. One workgroup per row: the row index is spread
//   over workgroup_id.x/y (grid2d), the run is workgroup_id.z. The max and the Σ exp over V are
//   strided per-thread partials in a fixed order followed by a fixed-shape tree in workgroup memory.
//   (Two entry points rather than one WRITE_GRAD override: an override cannot remove a binding from
//   the 'auto' layout, so the evaluation path would still need a dLogits buffer.)
// `rowsSerial` / `rowsGradSerial`: the same two kernels with one invocation per row instead of one
//   workgroup (SERIAL_ROWS rows per workgroup: row = (workgroup_id.x/y)·SERIAL_ROWS + local index, run =
//   workgroup_id.z). Each row makes three passes over v = 0..V-1 in order (max, Σ exp, then the loss and
//   dLogits); no barriers, no workgroup memory — far cheaper on SwiftShader, fine on GPUs for small V.
//   Same bindings and formulas; only the order of the Σ exp differs (a few ulp from the workgroup variant).
// `mean`: one workgroup per run; strided partial sums + fixed tree, then ÷ N. Deterministic.
// `meanSerial`: one invocation per run summing n = 0..N-1 in order, then ÷ N. Deterministic.
//
// Loss weights (supervised fine-tuning: loss on answer tokens only, or only on masked answer positions):
// `rowsGradWeighted` / `rowsGradWeightedSerial` read lossWeights [R, N] (0 or 1 per row) and lossScale [R]
// (1 / Σ_n lossWeights[r, n], 0 for a run without weighted rows, written by the CPU with the batch) and
// write dLogits = (softmax − onehot) · (lossWeights[r, n] · lossScale[r]): the gradient of the mean over the
// weighted rows only. `meanWeighted` / `meanWeightedSerial` write lossMean[r] = Σ w·rowLoss / Σ w (0 when
// Σ w = 0). With every weight 1 and lossScale = 1/N they are bit-identical to the unweighted entry points:
// 1 · x is exact, the sums run in the same order, and Σ w = N exactly (N < 2²⁴).
//
// A target id >= V (invalid tokens; the CPU validates them elsewhere) never reads out of bounds: that
// row's loss is 0 and its dLogits row is 0.

struct Params {
  R: u32,
  B: u32,
  T: u32,
  V: u32,
  gradScale: f32,
}

// 64 threads per row: V is a few hundred here, so wider groups would mostly idle (and cost barriers).
const WORKGROUP_SIZE: u32 = 64u;   // power of two (tree reduction)
const SERIAL_ROWS: u32 = 64u;      // rows (invocations) per workgroup of the serial variant
const LOWEST: f32 = -0x1.fffffep+127f;   // lowest finite f32

var<workgroup> partial: array<f32, WORKGROUP_SIZE>;

// Fixed-shape tree reductions of `value` over the workgroup; every thread must call them.
fn reduceMax(value: f32, lid: u32) -> f32 {
  partial[lid] = value;
  workgroupBarrier();
  for (var stride = WORKGROUP_SIZE / 2u; stride > 0u; stride = stride / 2u) {
    if (lid < stride) {
      partial[lid] = max(partial[lid], partial[lid + stride]);
    }
    workgroupBarrier();
  }
  let result = partial[0];
  // Every thread has read partial[0] before anyone overwrites it in a later reduction.
  workgroupBarrier();
  return result;
}

fn reduceSum(value: f32, lid: u32) -> f32 {
  partial[lid] = value;
  workgroupBarrier();
  for (var stride = WORKGROUP_SIZE / 2u; stride > 0u; stride = stride / 2u) {
    if (lid < stride) {
      partial[lid] = partial[lid] + partial[lid + stride];
    }
    workgroupBarrier();
  }
  let result = partial[0];
  workgroupBarrier();
  return result;
}

// ---------------------------------------------------------------------------------------------
// rows / rowsGrad: logits, tokens → rowLoss (, dLogits)

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> tokens: array<u32>;
@group(0) @binding(3) var<storage, read_write> rowLoss: array<f32>;
@group(0) @binding(4) var<storage, read_write> dLogits: array<f32>;
@group(0) @binding(5) var<storage, read> lossWeights: array<f32>;
@group(0) @binding(6) var<storage, read> lossScale: array<f32>;

struct Row {
  valid: bool,      // the workgroup's row exists (uniform across the workgroup)
  index: u32,       // r·N + n
  tgt: u32,         // target token id (may be >= V)
  rowMax: f32,
  sumExp: f32,      // Σ_v exp(logits − rowMax)
}

// Softmax statistics of this workgroup's row and its loss (written by thread 0). Called by every thread.
fn rowStatsAndLoss(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> Row {
  var row: Row;
  let r = wid.z;
  let n = wid.x + wid.y * nwg.x;
  let T = params.T;
  let N = params.B * T;
  let V = params.V;
  row.valid = r < params.R && n < N;
  if (!row.valid) {
    return row;
  }
  row.index = r * N + n;
  let b = n / T;
  let t = n - b * T;
  row.tgt = tokens[(r * params.B + b) * (T + 1u) + t + 1u];
  let base = row.index * V;

  var localMax = LOWEST;
  for (var v = lid; v < V; v = v + WORKGROUP_SIZE) {
    localMax = max(localMax, logits[base + v]);
  }
  row.rowMax = reduceMax(localMax, lid);

  var localSum = 0.0;
  for (var v = lid; v < V; v = v + WORKGROUP_SIZE) {
    localSum = localSum + exp(logits[base + v] - row.rowMax);
  }
  row.sumExp = reduceSum(localSum, lid);

  if (lid == 0u) {
    var loss = 0.0;
    if (row.tgt < V) {
      // logsumexp − logit[target], arranged so that large logits cancel before rounding.
      loss = (row.rowMax - logits[base + row.tgt]) + log(row.sumExp);
    }
    rowLoss[row.index] = loss;
  }
  return row;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  _ = rowStatsAndLoss(wid, nwg, lid);
}

// dLogits of one row = (softmax − onehot(target)) · scale, v = first, first + stride, … (0 for a target ≥ V).
fn writeRowGrad(row: Row, scale: f32, first: u32, stride: u32) {
  let V = params.V;
  let base = row.index * V;
  for (var v = first; v < V; v = v + stride) {
    var g = 0.0;
    if (row.tgt < V) {
      g = exp(logits[base + v] - row.rowMax) / row.sumExp;
      if (v == row.tgt) {
        g = g - 1.0;
      }
    }
    dLogits[base + v] = g * scale;
  }
}

// The row's share of the weighted mean: lossWeights[r, n] · lossScale[r] (index = r·N + n).
fn weightedScale(row: Row) -> f32 {
  let N = params.B * params.T;
  return lossWeights[row.index] * lossScale[row.index / N];
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn rowsGrad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
  let row = rowStatsAndLoss(wid, nwg, lid);
  if (!row.valid) {
    return;
  }
  writeRowGrad(row, params.gradScale, lid, WORKGROUP_SIZE);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn rowsGradWeighted(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                    @builtin(local_invocation_index) lid: u32) {
  let row = rowStatsAndLoss(wid, nwg, lid);
  if (!row.valid) {
    return;
  }
  writeRowGrad(row, weightedScale(row), lid, WORKGROUP_SIZE);
}

// ---------------------------------------------------------------------------------------------
// rowsSerial / rowsGradSerial: same bindings and results as rows / rowsGrad, one invocation per row.

// Row index (r·N + n) of this invocation and whether it exists.
fn serialRow(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> Row {
  var row: Row;
  let r = wid.z;
  let n = (wid.x + wid.y * nwg.x) * SERIAL_ROWS + lid;
  let T = params.T;
  let N = params.B * T;
  row.valid = r < params.R && n < N;
  if (!row.valid) {
    return row;
  }
  row.index = r * N + n;
  let b = n / T;
  let t = n - b * T;
  row.tgt = tokens[(r * params.B + b) * (T + 1u) + t + 1u];
  return row;
}

// Softmax statistics of one row (max, then Σ exp in order) and its loss, written to rowLoss.
fn serialStatsAndLoss(rowIn: Row) -> Row {
  var row = rowIn;
  let V = params.V;
  let base = row.index * V;
  var rowMax = LOWEST;
  for (var v = 0u; v < V; v = v + 1u) {
    rowMax = max(rowMax, logits[base + v]);
  }
  var sumExp = 0.0;
  for (var v = 0u; v < V; v = v + 1u) {
    sumExp = sumExp + exp(logits[base + v] - rowMax);
  }
  row.rowMax = rowMax;
  row.sumExp = sumExp;
  var loss = 0.0;
  if (row.tgt < V) {
    loss = (rowMax - logits[base + row.tgt]) + log(sumExp);
  }
  rowLoss[row.index] = loss;
  return row;
}

@compute @workgroup_size(SERIAL_ROWS)
fn rowsSerial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
  let row = serialRow(wid, nwg, lid);
  if (!row.valid) {
    return;
  }
  _ = serialStatsAndLoss(row);
}

@compute @workgroup_size(SERIAL_ROWS)
fn rowsGradSerial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) lid: u32) {
  let first = serialRow(wid, nwg, lid);
  if (!first.valid) {
    return;
  }
  let row = serialStatsAndLoss(first);
  writeRowGrad(row, params.gradScale, 0u, 1u);
}

@compute @workgroup_size(SERIAL_ROWS)
fn rowsGradWeightedSerial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                          @builtin(local_invocation_index) lid: u32) {
  let first = serialRow(wid, nwg, lid);
  if (!first.valid) {
    return;
  }
  let row = serialStatsAndLoss(first);
  writeRowGrad(row, weightedScale(row), 0u, 1u);
}

// ---------------------------------------------------------------------------------------------
// mean: rowLoss → lossMean

struct MeanParams {
  R: u32,
  N: u32,
}

@group(0) @binding(0) var<uniform> meanParams: MeanParams;
@group(0) @binding(1) var<storage, read> meanRowLoss: array<f32>;
@group(0) @binding(2) var<storage, read_write> lossMean: array<f32>;
@group(0) @binding(3) var<storage, read> meanWeights: array<f32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn mean(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = wid.z;
  let N = meanParams.N;
  if (r >= meanParams.R) {
    return;
  }
  var localSum = 0.0;
  for (var n = lid; n < N; n = n + WORKGROUP_SIZE) {
    localSum = localSum + meanRowLoss[r * N + n];
  }
  let total = reduceSum(localSum, lid);
  if (lid == 0u) {
    lossMean[r] = total / f32(N);
  }
}

// meanSerial: same bindings and result as `mean` (up to summation order), one invocation per run.
@compute @workgroup_size(SERIAL_ROWS)
fn meanSerial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
  let r = (wid.x + wid.y * nwg.x) * SERIAL_ROWS + lid;
  let N = meanParams.N;
  if (r >= meanParams.R) {
    return;
  }
  var total = 0.0;
  for (var n = 0u; n < N; n = n + 1u) {
    total = total + meanRowLoss[r * N + n];
  }
  lossMean[r] = total / f32(N);
}

// meanWeighted / meanWeightedSerial: lossMean[r] = Σ_n w·rowLoss / Σ_n w with w = meanWeights[r, n] (0 or 1),
// in the same order as mean / meanSerial; 0 for a run without weighted rows.
fn weightedMean(total: f32, count: f32) -> f32 {
  if (count > 0.0) {
    return total / count;
  }
  return 0.0;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn meanWeighted(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = wid.z;
  let N = meanParams.N;
  if (r >= meanParams.R) {
    return;
  }
  var localSum = 0.0;
  var localCount = 0.0;
  for (var n = lid; n < N; n = n + WORKGROUP_SIZE) {
    let w = meanWeights[r * N + n];
    localSum = localSum + w * meanRowLoss[r * N + n];
    localCount = localCount + w;
  }
  let total = reduceSum(localSum, lid);
  let count = reduceSum(localCount, lid);
  if (lid == 0u) {
    lossMean[r] = weightedMean(total, count);
  }
}

@compute @workgroup_size(SERIAL_ROWS)
fn meanWeightedSerial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                      @builtin(local_invocation_index) lid: u32) {
  let r = (wid.x + wid.y * nwg.x) * SERIAL_ROWS + lid;
  let N = meanParams.N;
  if (r >= meanParams.R) {
    return;
  }
  var total = 0.0;
  var count = 0.0;
  for (var n = 0u; n < N; n = n + 1u) {
    let w = meanWeights[r * N + n];
    total = total + w * meanRowLoss[r * N + n];
    count = count + w;
  }
  lossMean[r] = weightedMean(total, count);
}
