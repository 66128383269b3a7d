/**
 * The text of a file a person or an ERP produced: UTF-8 (a byte-order mark is kept for the
 * CSV reader to drop), or Windows-1252 as older spreadsheet programs write it. A file with NUL
 * characters is not text: `null`.
 */
export function decodeText(bytes: Uint8Array): string | null {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    text = new TextDecoder('windows-1252').decode(bytes);
  }
  return text.includes('\u0000') ? null : text;
}
