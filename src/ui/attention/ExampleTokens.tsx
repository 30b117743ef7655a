import { memo } from 'react';
import type { AttentionSnapshot } from '../../session/protocol';
import type { InputKind } from '../../store/attention';
import { segmentColour } from './colours';
import { segmentName, useSegments } from './segments';

interface Props { snapshot: AttentionSnapshot | undefined; input: InputKind }

const sameList = (a: readonly unknown[], b: readonly unknown[]) => a.length === b.length && a.every((x, k) => x === b[k]);

/** Whether two snapshots show the same example the same way (a new step of the same example does). */
function sameTokens(a: Props, b: Props): boolean {
  if (a.input !== b.input) return false;
  if (!a.snapshot || !b.snapshot) return a.snapshot === b.snapshot;
  return a.snapshot.answerPosition === b.snapshot.answerPosition && sameList(a.snapshot.tokenNames, b.snapshot.tokenNames)
    && sameList(a.snapshot.segments, b.snapshot.segments) && sameList(a.snapshot.maskedPositions, b.snapshot.maskedPositions);
}

/**
 * The probe example as a token strip: segment colour underneath, masked positions and the answer position
 * marked. Re-renders only when the example (or the input shown) changes, not at every new snapshot.
 */
export const ExampleTokens = memo(function ExampleTokens({ snapshot, input }: Props) {
  const segments = useSegments();
  if (!snapshot) return null;
  const masked = new Set(snapshot.maskedPositions);
  return (
    <p className="att-tokens" data-testid="example-tokens" aria-label="probe example tokens">
      {snapshot.tokenNames.map((name, p) => {
        const isMasked = masked.has(p);
        const title = `${p}: ${name} (${segmentName(segments, snapshot.segments[p])})`
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
}, sameTokens);
