/**
 * Typed reading of one JSON document's fields: each check names the document, the JSON path of
 * the field and what was expected, so a bad index.json is one CaptureError a user can act on,
 * never a TypeError from deep inside a reader.
 */
import { CaptureError } from '../errors.js';

/** A kind of JSON value: how to tell it and how to name it in a message. */
export interface Shape<T> {
  what: string;
  test(v: unknown): v is T;
}

export type JsonObject = Record<string, unknown>;

export const OBJECT: Shape<JsonObject> = { what: 'an object', test: (v): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v) };
export const ARRAY: Shape<unknown[]> = { what: 'an array', test: (v): v is unknown[] => Array.isArray(v) };
export const STRING: Shape<string> = { what: 'a string', test: (v): v is string => typeof v === 'string' };
export const BOOLEAN: Shape<boolean> = { what: 'true or false', test: (v): v is boolean => typeof v === 'boolean' };
export const STRING_OR_NULL: Shape<string | null> = { what: 'a string or null', test: (v): v is string | null => v === null || typeof v === 'string' };
/** Seconds on the capture's clock, null when the event did not happen. */
export const TIME_OR_NULL: Shape<number | null> = { what: 'a number (seconds) or null', test: (v): v is number | null => v === null || (typeof v === 'number' && Number.isFinite(v)) };
/** Byte counts, sizes and ids: what a file offset can hold exactly. */
export const COUNT: Shape<number> = { what: 'a non-negative integer', test: (v): v is number => Number.isSafeInteger(v) && (v as number) >= 0 };
/** How every recorder writes a digest: hex of the 32 bytes, lower case (what the check compares to). */
export const SHA256: Shape<string> = { what: '64 lowercase hex digits (a sha256)', test: (v): v is string => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v) };
/** A file directly in the capture directory: a reader joins it to the directory, so nothing that leaves it. */
export const FILE_NAME: Shape<string> = {
  what: 'a plain file name in the capture directory (no path separators, not "." or "..")',
  test: (v): v is string => typeof v === 'string' && v !== '' && v !== '.' && v !== '..' && !/[/\\\0]/.test(v),
};

export const oneOf = <T extends string>(values: readonly T[]): Shape<T> => ({
  what: values.length === 1 ? JSON.stringify(values[0]) : `one of ${values.map((v) => JSON.stringify(v)).join(', ')}`,
  test: (v): v is T => typeof v === 'string' && (values as readonly string[]).includes(v),
});

/** A value as a message names it: short, whatever its size. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  switch (typeof v) {
    case 'string':
      return v.length > 40 ? `the string ${JSON.stringify(v.slice(0, 40))}… (${v.length} characters)` : `the string ${JSON.stringify(v)}`;
    case 'number':
    case 'boolean':
      return String(v);
    default:
      return 'an object';
  }
}

/** The fields of one JSON document (`file` names it in every message). */
export class Fields {
  constructor(
    readonly file: string,
    /** What a bad field is reported as (index.json's by default). */
    private readonly code: 'INDEX_INVALID' | 'META_INVALID' = 'INDEX_INVALID',
  ) {}

  /** A field that is not as expected: a CaptureError naming the file and the JSON path. */
  fail(at: string, expected: string, found: unknown): never {
    throw new CaptureError(`${this.file}: ${at}: expected ${expected}, found ${describeValue(found)}`, this.file, { code: this.code });
  }

  is<T>(v: unknown, shape: Shape<T>, at: string): T {
    if (!shape.test(v)) this.fail(at, shape.what, v);
    return v;
  }

  /** `o[key]`, which must be there and of `shape`. */
  need<T>(o: JsonObject, key: string, shape: Shape<T>, at: string): T {
    return this.is(o[key], shape, `${at}${at ? '.' : ''}${key}`);
  }

  /** `o[key]`, which may be absent (undefined) but, when there, is of `shape`. */
  may<T>(o: JsonObject, key: string, shape: Shape<T>, at: string): T | undefined {
    return o[key] === undefined ? undefined : this.need(o, key, shape, at);
  }
}
