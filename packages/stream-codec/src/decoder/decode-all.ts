/** Whole-buffer decoding, shared by decodeMainStream, decodeMultifdChannel and decodeReturnPath. */
import { CodecError } from '../core/errors.js';

interface Feedable<R> {
  write(chunk: Uint8Array, sink: (record: R) => void): void;
  end(sink: (record: R) => void): void;
}

/** Feed `bytes` in one go; the records decoded, and the CodecError that stopped it, if any. */
export function decodeAll<R>(decoder: Feedable<R>, bytes: Uint8Array): { records: R[]; error?: CodecError } {
  const records: R[] = [];
  const sink = (r: R): void => {
    records.push(r);
  };
  try {
    decoder.write(bytes, sink);
    decoder.end(sink);
  } catch (e) {
    if (e instanceof CodecError) return { records, error: e };
    throw e;
  }
  return { records };
}
