/**
 * `dump --json`: one JSON object per record, in shapes scripts can rely on.
 *
 * - Byte fields (device-state data, multifd uuid, vmdesc json, return-path payloads...) are
 *   `{length, hex}`; the hex covers the first HEX_LIMIT bytes and `hexTruncated: true` says when it
 *   was cut. With `bytes: true` the hex is whole.
 * - Page payloads (PAGE data, XBZRLE deltas, compressed pages, multifd packet payloads, mapped-ram
 *   regions) are left out unless `bytes: true`; the record's `length` still counts them.
 * - Integers beyond 2^53 print as decimal strings, never as a rounded number.
 * - The raw copies the codec keeps for re-encoding are left out.
 */
import type { CodecRecord as AnyRecord } from '@migwire/stream-codec';

export const HEX_LIMIT = 64;

export interface RecordJsonOptions {
  /** Whole hex for every byte field, page payloads included. */
  bytes?: boolean;
}

/** Fields that hold guest page contents, by record kind. */
export const PAGE_PAYLOAD: Record<string, string> = {
  'ram-page': 'data',
  'ram-xbzrle': 'delta',
  'ram-compressed': 'data',
  'mapped-ram-data': 'data',
  'multifd-packet': 'payload',
};

export function bytesJson(v: Uint8Array, whole: boolean): { length: number; hex: string; hexTruncated?: true } {
  const n = whole ? v.length : Math.min(v.length, HEX_LIMIT);
  const hex = Buffer.from(v.buffer, v.byteOffset, n).toString('hex');
  return n < v.length ? { length: v.length, hex, hexTruncated: true } : { length: v.length, hex };
}

/** C1 controls and DEL are valid in JSON strings but act on terminals: escape them too. */
const HAS_TERMINAL_CONTROL = /[\u007f-\u009f]/;
const TERMINAL_CONTROLS = /[\u007f-\u009f]/g;
const escapeControl = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

export function recordJson(channel: string, r: AnyRecord, o: RecordJsonOptions = {}): string {
  const whole = o.bytes === true;
  const skip = whole ? undefined : PAGE_PAYLOAD[r.kind];
  return (skip ? pageJson(channel, r) : undefined) ?? flatJson(channel, r, whole, skip) ?? nestedJson(channel, r, whole, skip);
}

/** The keys of a PAGE/ZERO record as the decoder makes it (ram-body.ts), payload left out. */
const PAGE_KEYS = 'kind,offset,length,depth,sectionId,flags,block,pageOffset,data';
const ZERO_KEYS = 'kind,offset,length,depth,sectionId,flags,block,pageOffset,fill';
/** Kinds whose key order was checked: the decoder makes each kind at one place, so one look is enough. */
const checkedKinds = new Map<string, boolean>();

/**
 * PAGE and ZERO records, most of every stream, written from a template; the same text as
 * flatJson. Any record whose keys are not the expected ones in the expected order goes the
 * general way.
 */
function pageJson(channel: string, r: AnyRecord): string | undefined {
  if (!isTemplatePage(r)) return undefined;
  // Every number here is a safe integer: the decoder refuses offsets at or beyond 2^53.
  const head = `{"channel":${cachedString(channel)},"kind":"${r.kind}","offset":${r.offset},"length":${r.length},"depth":${r.depth},"sectionId":${r.sectionId},"flags":${r.flags},"block":${cachedString(r.block)},"pageOffset":${r.pageOffset}`;
  return r.kind === 'ram-page' ? head + '}' : `${head},"fill":${r.fill}}`;
}

/** A PAGE or ZERO record with exactly the keys (and order) the page templates write. */
export function isTemplatePage(r: AnyRecord): r is Extract<AnyRecord, { kind: 'ram-page' | 'ram-zero' }> {
  if (r.kind !== 'ram-page' && r.kind !== 'ram-zero') return false;
  if (typeof r.sectionId !== 'number') return false;
  let ok = checkedKinds.get(r.kind);
  if (ok === undefined) checkedKinds.set(r.kind, (ok = Object.keys(r).join(',') === (r.kind === 'ram-page' ? PAGE_KEYS : ZERO_KEYS)));
  return ok;
}

const stringJson = (v: string): string => terminalSafe(JSON.stringify(v));
/** Block names and channel names repeat on every page record: their JSON is kept. */
const stringCache = new Map<string, string>();
export function cachedString(v: string): string {
  let j = stringCache.get(v);
  if (j === undefined) {
    j = stringJson(v);
    if (stringCache.size < 1024) stringCache.set(v, j);
  }
  return j;
}

function numberJson(v: number): string {
  if (Number.isSafeInteger(v)) return String(v);
  if (Number.isInteger(v)) return `"${BigInt(v).toString()}"`;
  return Number.isFinite(v) ? String(v) : 'null';
}

/**
 * The same text as nestedJson for records whose fields are all numbers, strings, booleans or bytes
 * (pages, most RAM and framing records): written out directly, several times faster than
 * JSON.stringify with a replacer on the 262,000 page records of a 1 GiB stream. undefined for any
 * other record.
 */
function flatJson(channel: string, r: AnyRecord, whole: boolean, skip: string | undefined): string | undefined {
  if ('channel' in r) return undefined;
  let text = `{"channel":${cachedString(channel)}`;
  const rec = r as unknown as Record<string, unknown>;
  for (const k in rec) {
    const v = rec[k];
    let t: string;
    switch (typeof v) {
      case 'undefined':
        continue;
      case 'number':
        t = numberJson(v);
        break;
      case 'string':
        t = cachedString(v);
        break;
      case 'boolean':
        if (k === 'payloadOmitted') continue;
        t = v ? 'true' : 'false';
        break;
      case 'bigint':
        t = v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? v.toString() : `"${v.toString()}"`;
        break;
      case 'object':
        if (v === null) t = 'null';
        else if (v instanceof Uint8Array) {
          if (k === 'raw' || k === skip) continue;
          t = JSON.stringify(bytesJson(v, whole));
        } else return undefined;
        break;
      default:
        return undefined;
    }
    text += `,${cachedString(k)}:${t}`;
  }
  return text + '}';
}

/** The general form (JSON.stringify with a replacer): the fast paths above must give its text. */
export function nestedJson(channel: string, r: AnyRecord, whole: boolean, skip: string | undefined): string {
  const text = JSON.stringify({ channel, ...r }, function (this: Record<string, unknown>, key, value: unknown) {
    // How the record was decoded (raw copies for re-encoding, payloads skipped), not what the stream says.
    if (key === 'raw' || key === 'payloadOmitted') return undefined;
    // JSON.stringify has already called Buffer#toJSON on `value`: look at the holder's own field.
    const own = key === '' ? value : this[key];
    if (own instanceof Uint8Array) return key === skip ? undefined : bytesJson(own, whole);
    if (typeof own === 'bigint') return own >= BigInt(Number.MIN_SAFE_INTEGER) && own <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(own) : own.toString();
    if (typeof own === 'function') return undefined;
    if (typeof own === 'number' && Number.isInteger(own) && !Number.isSafeInteger(own)) return BigInt(own).toString();
    return value;
  });
  return terminalSafe(text);
}

/** JSON text with C1 controls escaped as well (JSON.stringify escapes only C0). */
export function terminalSafe(json: string): string {
  return HAS_TERMINAL_CONTROL.test(json) ? json.replace(TERMINAL_CONTROLS, escapeControl) : json;
}

/** Any other JSON line of `dump` (summary, errors). */
export function jsonLine(value: unknown): string {
  return terminalSafe(JSON.stringify(value));
}
