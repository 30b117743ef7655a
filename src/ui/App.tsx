import { DevicePanel } from './DevicePanel';
import { SelfTestPanel } from './SelfTestPanel';

export function App() {
  return (
    <div className="app">
      <header className="app-header">
        <h1>MEAP playground</h1>
        <p className="tagline">
          Next-token prediction vs Mask-Enhanced Autoregressive Prediction, trained side by side on your own GPU.
        </p>
      </header>
      <main className="panels">
        <DevicePanel />
        <SelfTestPanel />
      </main>
    </div>
  );
}
