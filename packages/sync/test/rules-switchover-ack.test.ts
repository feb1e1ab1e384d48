/**
 * switchover-ack in both modes (issue 15), on the real 10.0 switchover-ack capture and doctored
 * copies of it: up to machine type 11.0 (or switchover-ack-legacy=on) one ACK after
 * OPEN_RETURN_PATH; from 11.1 one per device that needs one, none when no device does.
 */
import test from 'ava';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openCapture } from '@migwire/capture';
import { decodeReturnPath, encodeReturnPathRecord } from '@migwire/stream-codec';
import { checkCapture, type RuleResult } from '../src/index.js';
import { capturesDir } from './helpers/capture-timeline.js';
import { unpackedCopy } from './helpers/synthetic-capture.js';

interface Doctoring {
  machine?: string;
  dropAck?: boolean;
  meta?: (m: Record<string, unknown>) => void;
}

async function switchoverAck(d: Doctoring = {}): Promise<RuleResult> {
  const dir = unpackedCopy(join(capturesDir(), '10.0-switchover-ack'), 'mw-ack-');
  try {
    if (d.machine) {
      const f = join(dir, 'conn00.src2dst.bin');
      const b = readFileSync(f);
      // The configuration record's machine name: same length, so nothing else moves.
      const at = b.indexOf('pc-q35-10.0');
      b.write(d.machine, at, 'latin1');
      writeFileSync(f, b);
    }
    if (d.dropAck) {
      const f = join(dir, 'conn00.dst2src.bin');
      const { records } = decodeReturnPath(readFileSync(f));
      writeFileSync(f, Buffer.concat(records.filter((r) => !(r.kind === 'rp-message' && r.args.message === 'SWITCHOVER_ACK')).map((r) => encodeReturnPathRecord(r))));
    }
    if (d.meta) {
      const f = join(dir, 'meta.json');
      const m = JSON.parse(readFileSync(f, 'utf8')) as Record<string, unknown>;
      d.meta(m);
      writeFileSync(f, JSON.stringify(m));
    }
    const report = await checkCapture(await openCapture(dir, { verify: false }));
    return report.rules.find((r) => r.id === 'switchover-ack')!;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('machine type 10.0: the legacy single ACK before completion passes, and says why that mode', async (t) => {
  const r = await switchoverAck();
  t.is(r.status, 'pass');
  t.regex(r.detail, /legacy: one ACK; machine type pc-q35-10\.0/);
});

test('machine type 10.0 without its ACK fails', async (t) => {
  const r = await switchoverAck({ dropAck: true });
  t.is(r.status, 'fail');
  t.regex(r.detail, /no SWITCHOVER_ACK on the return path \(legacy/);
});

test('machine type 11.1 with no device that needs an ACK: none is right', async (t) => {
  const r = await switchoverAck({ machine: 'pc-q35-11.1', dropAck: true });
  t.is(r.status, 'pass');
  t.regex(r.detail, /no SWITCHOVER_ACK, and no device needs one \(one ACK per device that needs one; machine type pc-q35-11\.1\)/);
});

test('machine type 11.1 with an ACK no device asked for fails, naming the place', async (t) => {
  const r = await switchoverAck({ machine: 'pc-q35-11.1' });
  t.is(r.status, 'fail');
  t.is(r.channel, 'return-path');
  t.true((r.offset ?? -1) >= 0);
  t.regex(r.detail, /1 SWITCHOVER_ACK, but 0 devices could need one/);
});

test('switchover-ack-legacy=on recorded in meta.json keeps the single ACK on an 11.1 machine', async (t) => {
  const r = await switchoverAck({ machine: 'pc-q35-11.1', meta: (m) => (m['properties'] = { 'switchover-ack-legacy': true }) });
  t.is(r.status, 'pass');
  t.regex(r.detail, /legacy: one ACK; switchover-ack-legacy=on in meta\.json/);
});

test('without meta.json or a versioned machine type the mode is inferred, and the detail says so', async (t) => {
  const r = await switchoverAck({ machine: 'pc-q35-xx.y', meta: (m) => delete m['caps'] });
  t.is(r.status, 'pass');
  t.regex(r.detail, /inferred from the stream \(machine type unknown\)/);
});
