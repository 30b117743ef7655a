import { SEGMENT_NAMES } from '../../data/needleTask';
import type { AttentionSnapshot } from '../../train/protocol';
import type { InputKind } from '../../store/attention';
import { segmentColour } from './colours';

/** The probe example as a token strip: segment colour underneath, masked positions and the answer position marked. */
export function ExampleTokens({ snapshot, input }: { snapshot: AttentionSnapshot | undefined; input: InputKind }) {
  if (!snapshot) return null;
  const masked = new Set(snapshot.maskedPositions);
  return (
    <p className="att-tokens" data-testid="example-tokens" aria-label="probe example tokens">
      {snapshot.tokenNames.map((name, p) => {
        const isMasked = masked.has(p);
        const title = `${p}: ${name} (${SEGMENT_NAMES[snapshot.segments[p]] ?? 'segment ' + snapshot.segments[p]})`
          + (isMasked ? ', masked in the paired analysis' : '') + (p === snapshot.answerPosition ? ', predicts the answer' : '');
        return (
          <span
            key={p}
            title={title}
            className={`att-token${isMasked ? ' att-token-masked' : ''}${p === snapshot.answerPosition ? ' att-token-answer' : ''}`}
            style={{ borderBottomColor: segmentColour(snapshot.segments[p]) }}
          >
            {isMasked && input === 'masked' ? '[M]' : name}
          </span>
        );
      })}
    </p>
  );
}
