import { useDevice } from '../store/device';
import { useRuns } from '../store/runs';
import { commands } from '../store/session';

/** Every kernel against the CPU reference, inside the training Worker: the same checks as `npm run selftest`. */
export function SelfTestPanel() {
  const status = useDevice((s) => s.status);
  const selfTest = useDevice((s) => s.selfTest);
  const training = useRuns((s) => s.state === 'running' || s.state === 'building');
  const running = selfTest.status === 'running';
  const why = status === 'cpu' ? 'The CPU engine has no kernels to test.'
    : training ? 'Pause training to run the self-test.' : null;
  return (
    <div className="selftest" data-testid="selftest-panel">
      <h3>Kernel self-test</h3>
      <p className="hint">Every WGSL kernel on this GPU against the CPU reference, at small and awkward shapes.</p>
      <button type="button" onClick={commands.runSelfTest} disabled={status !== 'ready' || running || training}>
        {running ? 'Running…' : 'Run kernel self-test'}
      </button>
      {why && <small className="muted"> {why}</small>}
      {selfTest.status === 'done' && (
        <p data-testid="selftest-summary" className={selfTest.failed > 0 || selfTest.error ? 'bad' : 'good'}>
          {selfTest.passed} passed, {selfTest.failed} failed in {(selfTest.milliseconds / 1000).toFixed(1)} s
          {selfTest.error && <> — stopped: {selfTest.error}</>}
        </p>
      )}
      {selfTest.checks.length > 0 && (
        <div className="table-scroll">
          <table className="checks" data-testid="selftest-table">
            <thead>
              <tr><th>kernel</th><th>shape</th><th>max abs error</th><th>tolerance</th><th>pass</th></tr>
            </thead>
            <tbody>
              {selfTest.checks.map((c, i) => (
                <tr key={i} className={c.pass ? '' : 'bad'}>
                  <td>{c.kernel}</td><td>{c.shape}</td>
                  <td className="num">{c.maxAbsError.toExponential(2)}</td>
                  <td className="num">{c.tolerance.toExponential(1)}</td>
                  <td>{c.pass ? '✓' : '✗'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
