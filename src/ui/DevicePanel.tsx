import { useDevice } from '../store/device';
import { SelfTestPanel } from './SelfTestPanel';
import type { KernelChoiceReport } from '../session/protocol';

const LIMITS_SHOWN = [
  'maxStorageBufferBindingSize', 'maxBufferSize', 'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupsPerDimension',
];

function formatLimit(value: number | undefined): string {
  if (value === undefined) return '—';
  if (value >= 1 << 20) return `${(value / (1 << 20)).toFixed(0)} MiB`;
  return value.toLocaleString('en-US');
}

/** Where WebGPU is on by default, and the switch elsewhere. */
export function EnableWebGpuHelp() {
  return (
    <div className="enable-help">
      <p><strong>To train on your GPU, open this page in a browser with WebGPU:</strong></p>
      <ul>
        <li>Chrome or Edge 113+ on Windows, macOS and ChromeOS; Chrome 121+ on Android.</li>
        <li>Chrome on Linux: enable <code>chrome://flags/#enable-unsafe-webgpu</code> (and <code>#enable-vulkan</code>), then relaunch.</li>
        <li>Safari 26+ (macOS, iOS, iPadOS); on earlier Safari versions: Develop → Feature Flags → WebGPU.</li>
        <li>Firefox 141+ on Windows; elsewhere set <code>dom.webgpu.enabled</code> in <code>about:config</code> (Nightly).</li>
      </ul>
      <p className="hint">Headless Chromium needs <code>--enable-unsafe-webgpu</code>. Until then the tiny preset still trains
        here on the CPU reference, slowly.</p>
    </div>
  );
}

/** The engine the training Worker found: adapter facts, or the CPU fallback and how to get WebGPU. */
export function DevicePanel() {
  const { status, engine, adapter, notice, message, kernels, measuringKernels, kernelsSwitchedAtStep } = useDevice();
  return (
    <section className="panel device" aria-labelledby="device-title" data-testid="device-panel" data-status={status}>
      <h2 id="device-title">Device</h2>
      <div className="device-grid">
        <div>
          {status === 'probing' && <p>Looking for a WebGPU adapter…</p>}
          {status === 'error' && <div className="notice notice-error" role="alert"><p>{message}</p><EnableWebGpuHelp /></div>}
          {status === 'cpu' && (
            <div className="notice notice-warn" role="status" data-testid="cpu-notice">
              <p><strong>No WebGPU here: training runs on the CPU reference</strong> (the same float64 math the kernels are
                tested against; fine for the tiny preset, slow beyond).</p>
              <EnableWebGpuHelp />
              {notice && <details><summary>What the training worker reported</summary><p className="muted">{notice}</p></details>}
            </div>
          )}
          {engine && (
            <dl className="facts">
              <dt>Engine</dt>
              <dd data-testid="engine">{engine === 'webgpu' ? 'WebGPU (WGSL kernels)' : 'CPU reference (fallback)'}</dd>
              {adapter && (
                <>
                  <dt>Adapter</dt>
                  <dd data-testid="adapter-name">{adapter.description || adapter.device || adapter.architecture || 'unnamed adapter'}</dd>
                  <dt>Vendor / architecture</dt>
                  <dd data-testid="adapter-architecture">{adapter.vendor || '—'} / {adapter.architecture || '—'}</dd>
                  <dt>Software fallback</dt>
                  <dd data-testid="adapter-fallback">{adapter.isFallbackAdapter ? 'yes (CPU emulation: expect slow training)' : 'no'}</dd>
                  <dt>Features</dt>
                  <dd data-testid="adapter-features" className="features">{adapter.features.join(', ') || 'none'}</dd>
                  <dt>Kernels</dt>
                  <dd data-testid="kernel-choice" data-measuring={measuringKernels ? 'yes' : 'no'}>
                    {kernels ? describeKernels(kernels) : 'default guess for this adapter'}
                    {measuringKernels && ' — measuring the variants in the background; the fastest is applied between steps'}
                    {kernelsSwitchedAtStep !== null && ` — applied from step ${kernelsSwitchedAtStep} (results continue within the variants' tested tolerance)`}
                  </dd>
                  {LIMITS_SHOWN.map((name) => (
                    <div key={name} className="fact-row">
                      <dt>{name}</dt>
                      <dd>{formatLimit(adapter.limits[name])}</dd>
                    </div>
                  ))}
                </>
              )}
              {engine === 'webgpu' && notice && (<><dt>Note</dt><dd>{notice}</dd></>)}
            </dl>
          )}
        </div>
        <SelfTestPanel />
      </div>
    </section>
  );
}

/**
 * "matmul blocked, rows serial, blocked tiles 16×4 threads — measured in 3.1 s (timestamp)" with each
 * candidate's time; the tiles are named only when the measurement replaced the variant's default ones.
 */
function describeKernels(k: KernelChoiceReport): string {
  const t = k.appliedTiles;
  const tiles = t ? `, ${k.preferences.matmul} tiles ${t.workgroupX}×${t.workgroupY} threads${t.tileK ? ` (k-slice ${t.tileK})` : ''}` : '';
  const chosen = `matmul ${k.preferences.matmul}, rows ${k.preferences.rows}${tiles}`;
  const how = k.fromCache ? 'chosen by an earlier measurement on this adapter' : `measured in ${(k.tuningMilliseconds / 1000).toFixed(1)} s`;
  // Default-tile times, plus the applied tiles' time (the one the matmul choice rests on then).
  const applied = (m: KernelChoiceReport['measurements'][number]) => t !== undefined && m.variant === k.preferences.matmul
    && m.tiles?.workgroupX === t.workgroupX && m.tiles.workgroupY === t.workgroupY && m.tiles.tileK === t.tileK;
  const times = k.measurements.filter((m) => m.defaultTiles !== false || applied(m))
    .map((m) => `${m.kernel} ${m.variant}${m.defaultTiles === false ? ` ${m.tiles!.workgroupX}×${m.tiles!.workgroupY}` : ''} ` +
      `${Number.isFinite(m.milliseconds) ? `${m.milliseconds.toFixed(2)} ms` : 'failed'}`).join(', ');
  return `${chosen} — ${how} (${k.method})${times ? `: ${times}` : ''}`;
}
