import { useDevice } from '../store/device';

/** Runs every kernel against the CPU reference in the GPU worker: the same checks as `npm run selftest`. */
export function SelfTestPanel() {
  const { status, selfTest, runSelfTest } = useDevice();
  const running = selfTest.status === 'running';
  return (
    <section className="panel" aria-labelledby="selftest-title" data-testid="selftest-panel">
      <h2 id="selftest-title">Kernel self-test</h2>
      <p className="hint">Every WGSL kernel on this GPU against the CPU reference, at small and awkward shapes.</p>
      <button type="button" onClick={runSelfTest} disabled={status !== 'ready' || running}>
        {running ? 'Running…' : 'Run kernel self-test'}
      </button>
      {selfTest.status === 'done' && (
        <p data-testid="selftest-summary" className={selfTest.failed > 0 ? 'bad' : 'good'}>
          {selfTest.passed} passed, {selfTest.failed} failed in {(selfTest.milliseconds / 1000).toFixed(1)} s
        </p>
      )}
      {selfTest.checks.length > 0 && (
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
      )}
    </section>
  );
}
