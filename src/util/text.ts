/**
 * The normal form every text goes through before a character tokenizer encodes it (src/data/charTokenizer.ts):
 * a leading byte-order mark removed, Unicode NFC, CR LF and lone CR turned into LF, tabs into a space. Here, in
 * util/, because the page encodes typed prompts with the vocabulary the Worker sends and must normalise alike.
 */
export function normalizeText(text: string): string {
  return text.replace(/^\uFEFF/, '').normalize('NFC').replace(/\r\n?/g, '\n').replace(/\t/g, ' ');
}
