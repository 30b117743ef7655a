import { attentionOfEveryArm, formatPercent, formatPercentEstimate, PAPER, type StudySummary } from '../../study/report';
import { formatEntropyEstimate, formatSignedPercentEstimate } from './format';

function paperShare(x: number | null | undefined): string {
  return x === null || x === undefined ? '—' : formatPercent(x);
}

/**
 * The attention analyses of the trained models, NTP vs MEAP, with the paper's numbers beside them (a 1.1B
 * model on real text: the columns say what was claimed, not what this scale should reach).
 */
export function AttentionTable({ summary, segmentNames, examples, probe }: {
  summary: StudySummary; segmentNames: string[]; examples: number; probe: boolean;
}) {
  const analysed = attentionOfEveryArm(summary);
  if (!analysed) return null;
  const layers = analysed[0].attention.segmentMassByLayer.length;
  // Retrieval tasks: the needle's K, :, V, the query's ? and the answer position itself, when every arm has them.
  const tokens = analysed.every(({ attention }) => attention.tokens) ? analysed[0].attention.tokens : undefined;
  // Retrieval tasks: the same prompts with the query key swapped (does the answer read the key?).
  const keySwap = analysed.every(({ attention }) => attention.keySwap);
  const signedPaper = (x: number) => `≈ ${x >= 0 ? '+' : '−'}${Math.abs(100 * x).toFixed(0)}%`;
  return (
    <div className="report-table-wrap">
      <table className="report-table" data-testid="report-attention">
        <caption>
          Every model sees the same {examples} {probe ? 'probe prompts' : 'evaluation examples'}. Segment mass: share of attention
          from the answer-generating position, mean over layers and heads (clean input), then per layer (an objective can move
          attention in one layer and not another, which the mean hides), and for retrieval tasks on single tokens: the needle's
          key, colon and value, the query's ? and the query key, which is the answer position itself; and whether the answer reads the
          key: the share answered with the needle's value as the prompt is and with its query key swapped for one the prompt lacks
          (a model that copies the only value in the context answers both alike). Paired analysis: the same model with 15% of
          the context masked (never the query) — score decay is the relative change of attention on the masked keys (negative: they
          get less attention, as the paper's −53%; positive: more), variance change that of the variance over the unmasked keys.
          Averaged over the {examples} {probe ? 'prompts' : 'examples'} (the Attention panel shows one). Mean over seeds [95% bootstrap CI].
        </caption>
        <thead>
          <tr>
            <th scope="col">measure</th>
            {analysed.map(({ arm }) => <th key={arm.arm} scope="col">{arm.label}</th>)}
            <th scope="col">paper NTP</th><th scope="col">paper MEAP</th>
          </tr>
        </thead>
        <tbody>
          {segmentNames.map((name, k) => (
            <tr key={name} data-measure={`mass-${name}`}>
              <th scope="row">attention on {name}</th>
              {analysed.map(({ arm, attention }) => <td key={arm.arm} className="num">{formatPercentEstimate(attention.segmentMass[k])}</td>)}
              <td className="num paper">{paperShare(PAPER.segmentMass.ntp[k])}</td>
              <td className="num paper">{paperShare(PAPER.segmentMass.meap[k])}</td>
            </tr>
          ))}
          {layers > 1 && analysed[0].attention.segmentMassByLayer.flatMap((layer, l) => layer.map((_, k) => (
            <tr key={`${l}-${segmentNames[k]}`} data-measure={`mass-layer${l}-${segmentNames[k]}`}>
              <th scope="row">layer {l}: attention on {segmentNames[k]}</th>
              {analysed.map(({ arm, attention }) => <td key={arm.arm} className="num">{formatPercentEstimate(attention.segmentMassByLayer[l][k])}</td>)}
              <td className="num paper">—</td><td className="num paper">—</td>
            </tr>
          )))}
          {tokens?.massByLayer.flatMap((layer, l) => layer.map((_, k) => (
            <tr key={`${l}-token-${tokens.names[k]}`} data-measure={`token-layer${l}-${tokens.names[k]}`}>
              <th scope="row">layer {l}: attention on the single token {tokens.names[k]}</th>
              {analysed.map(({ arm, attention }) => <td key={arm.arm} className="num">{formatPercentEstimate(attention.tokens!.massByLayer[l][k])}</td>)}
              <td className="num paper">—</td><td className="num paper">—</td>
            </tr>
          )))}
          {keySwap && (['clean', 'swapped'] as const).map((which) => (
            <tr key={`key-swap-${which}`} data-measure={`key-swap-${which}`}>
              <th scope="row">{which === 'clean' ? 'answers the needle\'s value (prompt as it is)' : 'still answers the needle\'s value with the query key swapped for an absent key'}</th>
              {analysed.map(({ arm, attention }) => <td key={arm.arm} className="num">{formatPercentEstimate(attention.keySwap![which])}</td>)}
              <td className="num paper">—</td><td className="num paper">—</td>
            </tr>
          ))}
          <tr data-measure="score-decay">
            <th scope="row">change of attention on masked keys, masked vs clean input (score decay)</th>
            {analysed.map(({ arm, attention }) => <td key={arm.arm} className="num">{formatSignedPercentEstimate(attention.scoreDecay)}</td>)}
            <td className="num paper">—</td><td className="num paper">{signedPaper(PAPER.scoreDecay)}</td>
          </tr>
          <tr data-measure="variance-change">
            <th scope="row">variance change over unmasked keys</th>
            {analysed.map(({ arm, attention }) => <td key={arm.arm} className="num">{formatSignedPercentEstimate(attention.varianceIncrease)}</td>)}
            <td className="num paper">—</td><td className="num paper">increase</td>
          </tr>
          <tr data-measure="entropy">
            <th scope="row">mean head entropy (nats; uniform = {analysed[0].attention.uniformEntropy.toFixed(3)})</th>
            {analysed.map(({ arm, attention }) => <td key={arm.arm} className="num">{formatEntropyEstimate(attention.meanEntropy)}</td>)}
            <td className="num paper">—</td><td className="num paper">—</td>
          </tr>
        </tbody>
      </table>
    </div>
  );
}
