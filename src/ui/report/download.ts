/** Saves bytes or text as a file through a temporary link (the page never holds a server). */
export function saveFile(contents: Uint8Array | string, name: string, type: string): void {
  const url = URL.createObjectURL(new Blob([contents as BlobPart], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.rel = 'noopener';
  document.body.appendChild(a);
  a.click();
  a.remove();
  // Revoked later: some browsers read the blob after click() returns.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
