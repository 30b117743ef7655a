/**
 * Number syntax for values people type or paste (command-line flags, link values, the page's number boxes),
 * strict on purpose: JavaScript's Number() also takes "0x10", "0o7", "0b1", "+5", "Infinity" and "" (as 0),
 * so a typo could silently become another study. Decimal notation only: an optional minus sign, digits with
 * an optional fraction, an optional exponent (3e-4, 1e6).
 */
const DECIMAL_SYNTAX = /^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;

/** The finite number `text` writes in decimal notation, or null when it is anything else. */
export function parseDecimal(text: string): number | null {
  if (!DECIMAL_SYNTAX.test(text)) return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}
