import { useConfig } from '../store/config';
import { useDevice } from '../store/device';

/** Messages about the link the page was opened with (ignored values) and automatic choices; dismissable. */
export function Notices() {
  const notices = useConfig((s) => s.notices);
  const dismiss = useConfig((s) => s.dismissNotice);
  if (notices.length === 0) return null;
  return (
    <div className="notices" role="status" data-testid="notices">
      {notices.map((text, i) => (
        <div key={`${i}:${text}`} className="notice notice-info" data-testid="notice">
          <span>{text}</span>
          <button type="button" className="link" aria-label="Dismiss" onClick={() => dismiss(i)}>×</button>
        </div>
      ))}
    </div>
  );
}

/** At the top of the page when there is no WebGPU: what still works, and where to read how to enable it. */
export function EngineBanner() {
  const status = useDevice((s) => s.status);
  if (status !== 'cpu' && status !== 'error') return null;
  return (
    <div className={`notice ${status === 'cpu' ? 'notice-warn' : 'notice-error'} engine-banner`} role="alert" data-testid="engine-banner">
      {status === 'cpu'
        ? <span><strong>No WebGPU in this browser.</strong> The tiny preset still trains here, on the CPU reference model (slowly).</span>
        : <span><strong>No training engine could start.</strong></span>}
      {' '}<a href="#device-title">How to enable WebGPU</a>
    </div>
  );
}
