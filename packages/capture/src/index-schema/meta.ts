/**
 * meta.json: what the recorder or the fixture generator noted about a migration beside its
 * capture (capabilities and parameters, setup calls, QEMU builds, machine, RAM). Read here only,
 * every field a reader uses held to its type: a damaged meta.json is one CaptureError META_INVALID
 * naming the file and the field, never a TypeError in whichever command read it first.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CaptureError } from '../errors.js';
import { META_FILE } from '../naming.js';
import { plainFileAt } from '../plain-file.js';
import { ARRAY, BOOLEAN, COUNT, Fields, OBJECT, STRING, type JsonObject, type Shape } from './fields.js';

/** One QMP call of the recorded setup. */
export interface MetaSetupCall {
  side?: string;
  command?: string;
  arguments?: JsonObject;
  ok?: boolean;
}

export interface CaptureMeta {
  caps?: Record<string, boolean>;
  params?: JsonObject;
  dst_params?: JsonObject;
  /** Migration object properties set on the command line ({"switchover-ack-legacy": true}). */
  properties?: JsonObject;
  /** -global settings ({"migration.switchover-ack-legacy": "on"}). */
  globals?: JsonObject;
  setup?: MetaSetupCall[];
  machine?: string;
  /** RAM as given to -m ("128M"). */
  mem?: string;
  mem_mib?: number;
  qemu?: { src?: { build?: string; argv?: string[] }; dst?: { build?: string; argv?: string[] } };
  /** false, or what TLS was used (the fixture generator's note). */
  tls?: boolean | { terminated_by_proxy?: boolean };
}

const MULTIFD_CHANNELS: Shape<number> = { what: 'an integer from 1 to 255', test: (v): v is number => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 255 };

const TLS_NOTE: Shape<boolean | JsonObject> = { what: 'false or an object', test: (v): v is boolean | JsonObject => typeof v === 'boolean' || OBJECT.test(v) };

/** meta.json of capture directory `dir`, checked; undefined when there is none. */
export function readCaptureMeta(dir: string): CaptureMeta | undefined {
  const path = join(dir, META_FILE);
  if (plainFileAt(path) === 'absent') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new CaptureError(`${path}: not JSON (${(e as Error).message})`, path, { cause: e, code: 'META_INVALID' });
  }
  const f = new Fields(path, 'META_INVALID');
  const root = f.is(parsed, OBJECT, '(top level)');
  const caps = f.may(root, 'caps', OBJECT, '');
  if (caps) for (const k of Object.keys(caps)) f.need(caps, k, BOOLEAN, 'caps');
  for (const k of ['params', 'dst_params', 'properties', 'globals']) f.may(root, k, OBJECT, '');
  // Readers hold the capture to it (how many multifd channels there must be): QEMU takes 1..255.
  for (const k of ['params', 'dst_params']) {
    const p = root[k];
    if (OBJECT.test(p)) f.may(p, 'multifd-channels', MULTIFD_CHANNELS, k);
  }
  f.may(root, 'setup', ARRAY, '')?.forEach((c, i) => {
    const call = f.is(c, OBJECT, `setup[${i}]`);
    for (const k of ['side', 'command']) f.may(call, k, STRING, `setup[${i}]`);
    f.may(call, 'arguments', OBJECT, `setup[${i}]`);
    f.may(call, 'ok', BOOLEAN, `setup[${i}]`);
  });
  for (const k of ['machine', 'mem']) f.may(root, k, STRING, '');
  f.may(root, 'mem_mib', COUNT, '');
  const qemu = f.may(root, 'qemu', OBJECT, '');
  for (const side of ['src', 'dst']) {
    const q = qemu ? f.may(qemu, side, OBJECT, 'qemu') : undefined;
    if (!q) continue;
    f.may(q, 'build', STRING, `qemu.${side}`);
    f.may(q, 'argv', ARRAY, `qemu.${side}`)?.forEach((a, i) => f.is(a, STRING, `qemu.${side}.argv[${i}]`));
  }
  const tls = f.may(root, 'tls', TLS_NOTE, '');
  if (typeof tls === 'object') f.may(tls, 'terminated_by_proxy', BOOLEAN, 'tls');
  return root as CaptureMeta;
}
