/**
 * Lines of a chunks.csv, each held to a length: readline kept a line whole however long it grew
 * (a 50 MB line took ~380 MB of memory and was then echoed whole into the error). Here a line
 * past the bound ends the read at once, with its line number, byte offset and a short prefix,
 * and memory stays one read buffer plus one line.
 */
import { CaptureError } from '../errors.js';

export interface Line {
  /** The line without its end (\n or \r\n), as UTF-8 text. */
  text: string;
  /** 1-based line number. */
  number: number;
  /** Byte offset of the line's first byte in the file. */
  offset: number;
}

/** Bytes of a line a message quotes: enough to recognise it, never the whole of a runaway line. */
export const QUOTED_BYTES = 40;

/** `s` as a message quotes it: JSON-escaped, at most QUOTED_BYTES characters, "…" when cut. */
export function quoted(s: string): string {
  return s.length > QUOTED_BYTES ? `${JSON.stringify(s.slice(0, QUOTED_BYTES))}…` : JSON.stringify(s);
}

/** Every line of `source` (bytes or text), none longer than `maxBytes`; `path` names it in errors. */
export async function* boundedLines(source: AsyncIterable<Uint8Array | string>, path: string, maxBytes: number): AsyncGenerator<Line> {
  let held: Buffer[] = []; // the current line's bytes from earlier reads (copies: read buffers are not kept)
  let heldBytes = 0;
  let number = 1;
  let start = 0;
  let pos = 0;
  const line = (tail: Buffer): Line => {
    const bytes = heldBytes ? Buffer.concat([...held, tail]) : tail;
    const text = bytes.toString('utf8');
    return { text: text.endsWith('\r') ? text.slice(0, -1) : text, number, offset: start };
  };
  for await (const piece of source) {
    const chunk = typeof piece === 'string' ? Buffer.from(piece, 'utf8') : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    let from = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, from);
      const end = nl < 0 ? chunk.length : nl;
      if (heldBytes + end - from > maxBytes) {
        const head = line(chunk.subarray(from, Math.min(end, from + QUOTED_BYTES + 1))).text;
        throw new CaptureError(`${path} line ${number} (byte ${start}): longer than ${maxBytes} bytes, not a chunks.csv row; it starts ${quoted(head)}`, path, { code: 'CHUNKS_LINE_TOO_LONG' });
      }
      if (nl < 0) {
        if (end > from) held.push(Buffer.from(chunk.subarray(from)));
        heldBytes += end - from;
        break;
      }
      yield line(chunk.subarray(from, nl));
      number++;
      start = pos + nl + 1;
      if (heldBytes) {
        held = [];
        heldBytes = 0;
      }
      from = nl + 1;
    }
    pos += chunk.length;
  }
  if (heldBytes) yield line(Buffer.alloc(0));
}
