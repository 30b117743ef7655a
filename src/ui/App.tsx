import { AttentionPanel } from './attention/AttentionPanel';
import { TryModelsPanel } from './TryModels';
import { ChartsPanel } from './charts/ChartsPanel';
import { ReportPanel } from './report/ReportPanel';
import { ControlsPanel } from './controls/ControlsPanel';
import { DevicePanel } from './DevicePanel';
import { EngineBanner, Notices } from './Notices';
import { RunBar } from './RunBar';
import { CheckpointPanel } from './CheckpointPanel';
import { ModelFilesPanel } from './ModelFiles';
import { PanelBoundary } from './PanelBoundary';

/** The page. Each panel renders inside its own PanelBoundary, so one failing view never blanks the page. */
export function App() {
  return (
    <div className="app">
      <header className="app-header">
        <div>
          <h1>MEAP playground</h1>
          <p className="tagline">
            Next-token prediction vs <abbr title="Mask-Enhanced Autoregressive Prediction">MEAP</abbr> — the same tiny
            transformer, the same batches, ~15% of the inputs masked — trained side by side on your own GPU.
          </p>
        </div>
        <nav className="header-links" aria-label="About">
          <a href="https://arxiv.org/abs/2502.07490" target="_blank" rel="noreferrer">Paper</a>
          <a href="https://github.com/scitix/MEAP" target="_blank" rel="noreferrer">Reference code</a>
        </nav>
      </header>
      <PanelBoundary name="Engine"><EngineBanner /></PanelBoundary>
      <PanelBoundary name="Notices"><Notices /></PanelBoundary>
      <PanelBoundary name="Run"><RunBar /></PanelBoundary>
      <PanelBoundary name="Checkpoints"><CheckpointPanel /></PanelBoundary>
      <div className="layout">
        <aside className="sidebar">
          <PanelBoundary name="Controls"><ControlsPanel /></PanelBoundary>
        </aside>
        <main className="main">
          <PanelBoundary name="Charts"><ChartsPanel /></PanelBoundary>
          <PanelBoundary name="Report"><ReportPanel /></PanelBoundary>
          <PanelBoundary name="Attention"><AttentionPanel /></PanelBoundary>
          <PanelBoundary name="Try the models"><TryModelsPanel /></PanelBoundary>
          <PanelBoundary name="Model files"><ModelFilesPanel /></PanelBoundary>
          <PanelBoundary name="Device"><DevicePanel /></PanelBoundary>
        </main>
      </div>
      <footer className="app-footer">
        <p>
          MEAP changes only the data: ~15% of input tokens become <code>[MASK]</code>, the loss is the ordinary next-token
          loss on the clean targets, and evaluation uses clean inputs. Mask ratio 0 is NTP, bit for bit. Every number on
          this page is computed by WGSL kernels that are checked against a float64 CPU reference.
        </p>
      </footer>
    </div>
  );
}
