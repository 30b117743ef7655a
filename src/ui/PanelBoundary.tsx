import { Component, type ReactNode } from 'react';
import { errorMessage } from '../util/errorMessage';

interface Props {
  /** The panel's name as the reader knows it ("Checkpoints", "Charts"). */
  name: string;
  children: ReactNode;
}

interface State {
  error: unknown;
  failed: boolean;
}

/**
 * Keeps one panel's failure to that panel. Without it, an exception while rendering any panel (a value from
 * storage, a link or the Worker that a view did not expect) unmounts the whole page and every reload does the
 * same. The panel is replaced by one line naming it and the error, with a button to render it again (after a
 * delete, a new study or a resume the data it choked on may be gone); the rest of the page keeps working.
 */
export class PanelBoundary extends Component<Props, State> {
  override state: State = { error: null, failed: false };

  static getDerivedStateFromError(error: unknown): State {
    return { error, failed: true };
  }

  override componentDidCatch(error: unknown): void {
    // Reported for whoever debugs it; the page itself shows the one line below.
    console.warn(`The ${this.props.name} panel failed:`, error);
  }

  override render() {
    if (!this.state.failed) return this.props.children;
    const message = errorMessage(this.state.error).replace(/[\r\n]+/g, ' ').slice(0, 300);
    return (
      <section className="notice notice-error panel-failed" role="alert" data-testid="panel-failed" data-panel={this.props.name}>
        <span><strong>The {this.props.name} panel failed</strong> ({message}). The rest of the page still works.</span>
        <button type="button" className="secondary small" onClick={() => this.setState({ error: null, failed: false })}>Try again</button>
      </section>
    );
  }
}
