/**
 * A small RFC 4180 reader for carriers' files, written here rather than taken from csv-parse
 * because a carrier file must keep its good rows when one row is broken: csv-parse loses its
 * place after a stray quote and swallows the rows that follow. Here a broken record (text after a
 * closing quote, a quote never closed) is one bad row on its own line and reading goes on with
 * the next line.
 *
 * - A byte order mark at the start is dropped; lines end with CRLF, LF or CR.
 * - Fields may be quoted with `"`; a doubled `""` inside quotes is one quote; a quoted field may
 *   hold the delimiter and line breaks.
 * - Blank lines (nothing, or only spaces and tabs) are skipped.
 */
export type DelimitedRow =
  | { ok: true; line: number; fields: string[]; raw: string }
  | { ok: false; line: number; reason: string; raw: string };

export const UTF8_BOM = '\uFEFF';

/** The physical line that begins at `start`, without its line break, and where the next begins. */
function lineAt(text: string, start: number): { raw: string; next: number } {
  let i = start;
  while (i < text.length && text[i] !== '\n' && text[i] !== '\r') i++;
  const raw = text.slice(start, i);
  if (text[i] === '\r' && text[i + 1] === '\n') i += 2;
  else if (i < text.length) i += 1;
  return { raw, next: i };
}

/** Line breaks in text: CRLF counts once, like a lone LF or CR. */
function countLineBreaks(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 || (c === 13 && text.charCodeAt(i + 1) !== 10)) n++;
  }
  return n;
}

/**
 * Every record of `text`, in order, each with the 1-based line where it starts. `skipLines`
 * physical lines at the top (a title, a report banner) are passed over unread.
 */
export function readDelimited(text: string, delimiter: string, skipLines = 0): DelimitedRow[] {
  return [...iterDelimited(text, delimiter, skipLines)];
}

/**
 * The records of `text` one at a time, as readDelimited lists them: a million-row file is read
 * and stored batch by batch, never held as a million rows at once.
 */
export function* iterDelimited(text: string, delimiter: string, skipLines = 0): Generator<DelimitedRow, void, undefined> {
  const body = text.startsWith(UTF8_BOM) ? text.slice(1) : text;
  const delim = delimiter.charCodeAt(0);
  let pos = 0;
  let line = 1;
  for (; line <= skipLines && pos < body.length; line++) pos = lineAt(body, pos).next;

  while (pos < body.length) {
    const startPos = pos;
    const startLine = line;
    const fields: string[] = [];
    let field = '';
    let i = pos;
    let error: string | null = null;
    let lineBreaks = 0;
    // One record: fields until an unquoted line break or the end.
    for (;;) {
      if (body[i] === '"' && field.trim() === '') {
        // Quoted field: read to the closing quote.
        field = '';
        i++;
        let closed = false;
        while (i < body.length) {
          const q = body.indexOf('"', i);
          const end = q < 0 ? body.length : q;
          const part = body.slice(i, end);
          field += part;
          lineBreaks += countLineBreaks(part);
          i = end;
          if (q < 0) break;
          if (body[q + 1] === '"') {
            field += '"';
            i = q + 2;
            continue;
          }
          closed = true;
          i = q + 1;
          break;
        }
        if (!closed) {
          error = 'a quoted field is never closed (a missing ")';
          break;
        }
        // Spaces may follow the closing quote; anything else is a broken record.
        while (body[i] === ' ' || body[i] === '\t') i++;
        if (i < body.length && body[i] !== delimiter && body[i] !== '\n' && body[i] !== '\r') {
          error = `text after a closing quote (${JSON.stringify(body.slice(i, i + 10))}): a quote inside a field must be doubled ("")`;
          break;
        }
      } else {
        const from = i;
        while (i < body.length) {
          const c = body.charCodeAt(i);
          if (c === delim || c === 10 || c === 13) break;
          i++;
        }
        field = body.slice(from, i);
      }
      fields.push(field);
      field = '';
      if (i < body.length && body[i] === delimiter) {
        i++;
        continue;
      }
      break;
    }

    if (error !== null) {
      // The record is this one line; the next record starts on the next line.
      const { raw, next } = lineAt(body, startPos);
      yield { ok: false, line: startLine, reason: error, raw };
      pos = next;
      line = startLine + 1;
      continue;
    }
    const raw = body.slice(startPos, i);
    if (body[i] === '\r' && body[i + 1] === '\n') i += 2;
    else if (i < body.length) i += 1;
    pos = i;
    line = startLine + lineBreaks + 1;
    if (fields.every((f) => f.trim() === '') && !raw.includes('"')) continue; // a blank line
    yield { ok: true, line: startLine, fields, raw };
  }
}
