import { useDevice } from '../store/device';

const LIMITS_SHOWN = [
  'maxStorageBufferBindingSize', 'maxBufferSize', 'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupsPerDimension',
];

function formatLimit(value: number): string {
  if (value >= 1 << 20) return `${(value / (1 << 20)).toFixed(0)} MiB`;
  return value.toLocaleString('en-US');
}

/** Adapter name, architecture, fallback or not, features and key limits, as the GPU worker sees them. */
export function DevicePanel() {
  const { status, message, adapter } = useDevice();
  return (
    <section className="panel" aria-labelledby="device-title" data-testid="device-panel" data-status={status}>
      <h2 id="device-title">Device</h2>
      {status === 'probing' && <p>Looking for a WebGPU adapter…</p>}
      {status === 'unavailable' && (
        <div className="notice notice-error" role="alert">
          <strong>WebGPU is not available in this browser.</strong>
          <p>{message}</p>
        </div>
      )}
      {(status === 'error' || status === 'lost') && (
        <div className="notice notice-error" role="alert"><p>{message}</p></div>
      )}
      {adapter && (
        <dl className="facts">
          <dt>Adapter</dt>
          <dd data-testid="adapter-name">{adapter.description || adapter.device || adapter.architecture || 'unnamed adapter'}</dd>
          <dt>Vendor / architecture</dt>
          <dd data-testid="adapter-architecture">{adapter.vendor || '—'} / {adapter.architecture || '—'}</dd>
          <dt>Software fallback</dt>
          <dd data-testid="adapter-fallback">{adapter.isFallbackAdapter ? 'yes (CPU emulation: expect slow training)' : 'no'}</dd>
          <dt>Features</dt>
          <dd data-testid="adapter-features">{adapter.features.join(', ') || 'none'}</dd>
          {LIMITS_SHOWN.map((name) => (
            <div key={name} className="fact-row">
              <dt>{name}</dt>
              <dd>{formatLimit(adapter.limits[name])}</dd>
            </div>
          ))}
        </dl>
      )}
    </section>
  );
}
