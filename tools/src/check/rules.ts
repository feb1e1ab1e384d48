/**
 * `migwire check CAPTURE`: the rules that make a multi-channel migration
 * correct, proved or disproved on a recording. Every channel is decoded once;
 * the rules work on what that pass collects (page copies per round, packet
 * numbers, barriers, commands and return-path messages, with arrival times).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CodecError, MultifdPageDecoder, type MainRecord, type MultifdRecord, type ReturnPathRecord } from '@migwire/stream-codec';
import { MultifdPostcopyAssertion, isSyncError } from '@migwire/sync';
import { openCapture, type CaptureChannel } from '@migwire/capture';
import { decodeInput, type AnyRecord } from '../decode/channels.js';

export type RuleStatus = 'pass' | 'fail' | 'n/a';

export interface RuleResult {
  rule: string;
  status: RuleStatus;
  detail: string;
  /** Where the first violation is. */
  channel?: string;
  offset?: number;
}

export interface RoundSummary {
  round: number;
  /** Pages (normal + zero) per channel name in this round. */
  pages: Record<string, number>;
}

export interface CheckReport {
  ok: boolean;
  rules: RuleResult[];
  rounds: RoundSummary[];
  /** Pages sent in more than one round. */
  resentPages: number;
  decodeErrors: Array<{ channel: string; message: string }>;
}

interface PageCopy {
  round: number;
  channel: string;
  digest: string;
  offset: number;
  /** Global send order of multifd packets; undefined on main. */
  packetNum?: number;
  /** Arrival of the record's first and last byte (chunks.csv), when known. */
  start?: number;
  end?: number;
}

interface PacketInfo {
  channel: string;
  num: number;
  pages: number;
  sync: boolean;
  flags: number;
  offset: number;
  time: number | undefined;
}

const ZERO = 'zero';

function digest(b: Uint8Array): string {
  // A zero page sent as data is the same content as a ZERO record.
  if (b.every((x) => x === 0)) return ZERO;
  return createHash('sha1').update(b).digest('base64');
}

/** Capabilities from a capture's meta.json, when it has one. */
function captureCaps(dir: string): Record<string, boolean> | undefined {
  const p = join(dir, 'meta.json');
  if (!existsSync(p)) return undefined;
  try {
    const m = JSON.parse(readFileSync(p, 'utf8')) as { caps?: Record<string, boolean> };
    return m.caps;
  } catch {
    return undefined;
  }
}

export async function checkRules(path: string): Promise<CheckReport> {
  const input = openCapture(path);
  const times = await input.arrivals();
  const caps = input.kind === 'capture' ? captureCaps(path) : undefined;
  const arrival = (ch: CaptureChannel, offset: number): number | undefined => times?.at(ch.conn, ch.direction, offset);

  // Collected while decoding.
  const copies = new Map<string, PageCopy[]>();
  const rounds = new Map<number, Record<string, number>>();
  const inits: Array<{ channel: string; id: number; offset: number }> = [];
  const packets: PacketInfo[] = [];
  const syncsPerChannel = new Map<string, number>();
  let mainBarriers = 0;
  let barrier: 'flush' | 'eos' | undefined;
  let mainRound = 0;
  const pings: Array<{ value: number; offset: number; time: number | undefined }> = [];
  const pongs: number[] = [];
  const requests: Array<{ block: string; start: number; offset: number }> = [];
  let lastRequestBlock = '';
  let ack: { time: number | undefined; offset: number } | undefined;
  let mainEnd: number | undefined;
  let postcopyListen: number | undefined;
  const pagesSeenLate = new Set<string>(); // pages on main after postcopy started, and on preempt
  let preemptOther: { kind: string; offset: number } | undefined;
  let hasPreempt = false;
  const pageDecoders = new Map<string, MultifdPageDecoder>();
  const multifdRound = new Map<string, number>();
  const multifdTimed: Array<{ ch: CaptureChannel; rec: MultifdRecord; time: number | undefined }> = [];
  const mainCommands: Array<{ rec: MainRecord; time: number | undefined }> = [];
  let hasReturnPath = false;
  const payloadErrors: Array<{ channel: string; message: string }> = [];

  const timed = (ch: CaptureChannel, c: PageCopy, length: number): PageCopy => {
    const start = arrival(ch, c.offset);
    const end = arrival(ch, c.offset + length - 1);
    if (start !== undefined) c.start = start;
    if (end !== undefined) c.end = end;
    return c;
  };
  const addCopy = (block: string, pageOffset: number, c: PageCopy): void => {
    const key = `${block}+${pageOffset.toString(16)}`;
    let l = copies.get(key);
    if (!l) copies.set(key, (l = []));
    l.push(c);
    let r = rounds.get(c.round);
    if (!r) rounds.set(c.round, (r = {}));
    r[c.channel] = (r[c.channel] ?? 0) + 1;
  };

  const results = await decodeInput(input, {
    onRecord: (ch: CaptureChannel, r: AnyRecord) => {
      if (ch.role === 'main') {
        const m = r as MainRecord;
        switch (m.kind) {
          case 'ram-multifd-flush':
            barrier ??= 'flush';
            if (barrier === 'flush') mainBarriers++, mainRound++;
            break;
          case 'ram-eos':
            barrier ??= 'eos';
            if (barrier === 'eos') mainBarriers++, mainRound++;
            break;
          case 'ram-page':
          case 'ram-zero':
          case 'ram-xbzrle': {
            const d = m.kind === 'ram-page' ? digest(m.data) : m.kind === 'ram-zero' ? (m.fill ? `fill${m.fill}` : ZERO) : `xbzrle:${digest(m.delta)}`;
            if (postcopyListen !== undefined) pagesSeenLate.add(`${m.block}+${m.pageOffset}`);
            else addCopy(m.block, m.pageOffset, timed(ch, { round: mainRound, channel: ch.name, digest: d, offset: m.offset }, m.length));
            break;
          }
          case 'command':
            mainCommands.push({ rec: m, time: arrival(ch, m.offset) });
            if (m.args.command === 'PING') pings.push({ value: m.args.value, offset: m.offset, time: arrival(ch, m.offset) });
            if (m.args.command === 'POSTCOPY_LISTEN') postcopyListen ??= m.offset;
            break;
          case 'eof':
            if (m.depth === 0) mainEnd = arrival(ch, m.offset);
            break;
        }
      } else if (ch.role === 'return-path') {
        hasReturnPath = true;
        const m = r as ReturnPathRecord;
        if (m.kind !== 'rp-message') return;
        if (m.args.message === 'PONG') pongs.push(m.args.value);
        if (m.args.message === 'SWITCHOVER_ACK') ack ??= { time: arrival(ch, m.offset), offset: m.offset };
        if (m.args.message === 'REQ_PAGES_ID') {
          lastRequestBlock = m.args.block;
          requests.push({ block: m.args.block, start: m.args.start, offset: m.offset });
        }
        if (m.args.message === 'REQ_PAGES') requests.push({ block: lastRequestBlock, start: m.args.start, offset: m.offset });
      } else if (ch.role === 'multifd') {
        const m = r as MultifdRecord;
        if (m.kind === 'multifd-init') {
          inits.push({ channel: ch.name, id: m.channelId, offset: m.offset });
          return;
        }
        if (m.kind !== 'multifd-packet') return;
        const time = arrival(ch, m.offset);
        multifdTimed.push({ ch, rec: m, time });
        packets.push({ channel: ch.name, num: m.packetNum, pages: m.normalPages + m.zeroPages, sync: m.sync, flags: m.flags, offset: m.offset, time });
        const round = multifdRound.get(ch.name) ?? 0;
        let pd = pageDecoders.get(ch.name);
        if (!pd) pageDecoders.set(ch.name, (pd = new MultifdPageDecoder()));
        const base = timed(ch, { round, channel: ch.name, digest: '', offset: m.offset, packetNum: m.packetNum }, m.length);
        let pages: ReturnType<MultifdPageDecoder['pages']> = [];
        try {
          pages = pd.pages(m);
        } catch (e) {
          if (!(e instanceof CodecError)) throw e;
          payloadErrors.push({ channel: ch.name, message: `${e.reason} (${e.code}) on ${ch.name} at byte ${m.offset}` });
        }
        for (const p of pages) addCopy(m.block, p.offset, { ...base, digest: digest(p.data) });
        for (const o of m.zeroOffsets) addCopy(m.block, o, { ...base, digest: ZERO });
        if (m.sync) {
          multifdRound.set(ch.name, round + 1);
          syncsPerChannel.set(ch.name, (syncsPerChannel.get(ch.name) ?? 0) + 1);
        }
      } else if (ch.role === 'postcopy-preempt') {
        hasPreempt = true;
        const m = r as MainRecord;
        if (m.kind === 'ram-page' || m.kind === 'ram-zero') pagesSeenLate.add(`${m.block}+${m.pageOffset}`);
        else preemptOther ??= { kind: m.kind, offset: m.offset };
      }
    },
  });

  const rules: RuleResult[] = [];
  const multifdNames = input.channels.filter((c) => c.role === 'multifd').map((c) => c.name);

  // 1. Multifd init ids: unique, and exactly 0..N-1.
  if (inits.length === 0) rules.push({ rule: 'multifd-channel-ids', status: 'n/a', detail: 'no multifd channels' });
  else {
    const seen = new Map<number, string>();
    let bad: RuleResult | undefined;
    for (const i of inits) {
      if (seen.has(i.id)) bad ??= { rule: 'multifd-channel-ids', status: 'fail', detail: `channel id ${i.id} on ${i.channel} was already used by ${seen.get(i.id)}`, channel: i.channel, offset: i.offset + 24 };
      seen.set(i.id, i.channel);
    }
    const missing = inits.map((_, k) => k).filter((k) => !seen.has(k));
    if (!bad && missing.length) bad = { rule: 'multifd-channel-ids', status: 'fail', detail: `ids ${missing.join(', ')} missing among ${inits.length} channels` };
    rules.push(bad ?? { rule: 'multifd-channel-ids', status: 'pass', detail: `${inits.length} channels, ids ${[...seen.keys()].sort().join(', ')}` });
  }

  // 2. Packet numbers: increasing per channel, unique across channels. 7.2 may repeat a SYNC's
  // number on the empty packet that follows it (a race in its sender): that alone is allowed.
  if (packets.length === 0) rules.push({ rule: 'packet-numbers', status: 'n/a', detail: 'no multifd packets' });
  else {
    let bad: RuleResult | undefined;
    const owner = new Map<number, PacketInfo>();
    const last = new Map<string, PacketInfo>();
    for (const p of packets) {
      const prev = last.get(p.channel);
      const quirk = prev !== undefined && prev.num === p.num && prev.sync && p.pages === 0 && p.flags === 0;
      if (prev && p.num <= prev.num && !quirk) bad ??= { rule: 'packet-numbers', status: 'fail', detail: `packet #${p.num} on ${p.channel} after #${prev.num}`, channel: p.channel, offset: p.offset + 24 };
      const o = owner.get(p.num);
      if (o && o.channel !== p.channel) bad ??= { rule: 'packet-numbers', status: 'fail', detail: `packet #${p.num} on ${p.channel} and on ${o.channel}`, channel: p.channel, offset: p.offset + 24 };
      if (!o) owner.set(p.num, p);
      last.set(p.channel, p);
    }
    rules.push(bad ?? { rule: 'packet-numbers', status: 'pass', detail: `${packets.length} packets, numbers increase per channel and are unique` });
  }

  // 3. One SYNC per channel for every main barrier (MULTIFD_FLUSH since 8.0, else each RAM EOS).
  if (multifdNames.length === 0) rules.push({ rule: 'sync-per-flush', status: 'n/a', detail: 'no multifd channels' });
  else {
    const what = barrier === 'flush' ? 'MULTIFD_FLUSH' : 'RAM EOS';
    const off = multifdNames.find((n) => (syncsPerChannel.get(n) ?? 0) !== mainBarriers);
    if (off) {
      const lastPacket = [...packets].reverse().find((p) => p.channel === off);
      rules.push({ rule: 'sync-per-flush', status: 'fail', detail: `main has ${mainBarriers} ${what}, ${off} has ${syncsPerChannel.get(off) ?? 0} SYNC packets`, channel: off, ...(lastPacket ? { offset: lastPacket.offset } : {}) });
    } else rules.push({ rule: 'sync-per-flush', status: 'pass', detail: `${mainBarriers} ${what} on main, ${mainBarriers} SYNC on each of ${multifdNames.length} channels` });
  }

  // 4. Within a round the destination applies copies in no set order: when a page has two
  // different copies in one round on different channels, the newer one (higher packet number,
  // or later on main) must have arrived only after the older one was whole, or the older one
  // could land last. Without arrival times that cannot be shown, so it fails.
  let resent = 0;
  let orderedByArrival = 0;
  let earlierRaces = 0;
  {
    let bad: RuleResult | undefined;
    let checked = 0;
    const older = (a: PageCopy, b: PageCopy): [PageCopy, PageCopy] => {
      if (a.packetNum !== undefined && b.packetNum !== undefined) return a.packetNum <= b.packetNum ? [a, b] : [b, a];
      return (a.start ?? 0) <= (b.start ?? 0) ? [a, b] : [b, a];
    };
    for (const [page, list] of copies) {
      const roundsOf = new Set(list.map((c) => c.round));
      if (roundsOf.size > 1) resent++;
      if (list.length < 2) continue;
      checked++;
      // Only the page's last round decides what the destination keeps: a race in an earlier round
      // is overwritten, in barrier order, by the later copy (counted, not failed).
      const lastRound = Math.max(...list.map((c) => c.round));
      for (let i = 0; i < list.length; i++) {
        for (let j = i + 1; j < list.length; j++) {
          const a = list[i]!;
          const b = list[j]!;
          if (a.round !== b.round || a.channel === b.channel || a.digest === b.digest) continue;
          if (a.round !== lastRound) {
            earlierRaces++;
            continue;
          }
          const [old, neu] = older(a, b);
          if (old.end !== undefined && neu.start !== undefined && neu.start > old.end) {
            orderedByArrival++;
            continue;
          }
          bad ??= {
            rule: 'round-order',
            status: 'fail',
            detail: `page ${page} has two different copies in its last round ${a.round} (${old.channel}${old.packetNum !== undefined ? ` #${old.packetNum}` : ''}, then ${neu.channel}${neu.packetNum !== undefined ? ` #${neu.packetNum}` : ''}) with no SYNC between them${old.end === undefined ? ' and no arrival times to order them' : ' and the newer one arrived first'}: the older one could land last`,
            channel: neu.channel,
            offset: neu.offset,
          };
        }
      }
    }
    const extra =
      (orderedByArrival ? `; ${orderedByArrival} same-round re-sends with no SYNC between them, ordered only by arrival` : '') +
      (earlierRaces ? `; ${earlierRaces} unordered same-round re-sends later overwritten by a newer round (a 7.2 sender race)` : '');
    rules.push(multifdNames.length === 0 && !bad ? { rule: 'round-order', status: 'n/a', detail: 'single channel: order is the stream order' } : bad ?? { rule: 'round-order', status: 'pass', detail: `${copies.size} pages, ${checked} sent more than once, no copy could overtake a newer one${extra}` });
  }

  // 5. No multifd page once postcopy listens (arrival order from chunks.csv).
  const hasPostcopy = postcopyListen !== undefined;
  if (!hasPostcopy || multifdNames.length === 0) rules.push({ rule: 'no-multifd-after-postcopy', status: 'n/a', detail: hasPostcopy ? 'no multifd channels' : 'no postcopy' });
  else if (!times) rules.push({ rule: 'no-multifd-after-postcopy', status: 'fail', detail: 'postcopy and multifd together, but no chunks.csv to order them' });
  else {
    const assertion = new MultifdPostcopyAssertion();
    const events = [
      ...mainCommands.map((c) => ({ t: c.time ?? 0, main: c.rec as MainRecord | undefined, mf: undefined as (typeof multifdTimed)[number] | undefined })),
      ...multifdTimed.map((m) => ({ t: m.time ?? 0, main: undefined as MainRecord | undefined, mf: m })),
    ].sort((a, b) => a.t - b.t);
    let bad: RuleResult | undefined;
    for (const e of events) {
      if (e.main) assertion.observeMain(e.main);
      else if (e.mf) {
        try {
          assertion.checkPacket(e.mf.ch.multifdId ?? 0, e.mf.rec);
        } catch (err) {
          if (!isSyncError(err)) throw err;
          bad = { rule: 'no-multifd-after-postcopy', status: 'fail', detail: `${err.message} (packet #${(e.mf.rec as { packetNum?: number }).packetNum})`, channel: e.mf.ch.name, offset: e.mf.rec.offset };
          break;
        }
      }
    }
    rules.push(bad ?? { rule: 'no-multifd-after-postcopy', status: 'pass', detail: 'every multifd page arrived before POSTCOPY_LISTEN' });
  }

  // 6. The postcopy-preempt channel carries page records only.
  if (!hasPreempt) rules.push({ rule: 'preempt-pages-only', status: 'n/a', detail: 'no postcopy-preempt channel' });
  else rules.push(preemptOther ? { rule: 'preempt-pages-only', status: 'fail', detail: `a ${preemptOther.kind} record on the preempt channel`, channel: 'postcopy-preempt', offset: preemptOther.offset } : { rule: 'preempt-pages-only', status: 'pass', detail: 'only PAGE/ZERO records' });

  // 7. Return path: PINGs answered, page requests served, SWITCHOVER_ACK before completion.
  if (pings.length === 0) rules.push({ rule: 'ping-pong', status: 'n/a', detail: 'no PING on main' });
  else {
    const left = [...pongs];
    const unanswered = pings.find((p) => {
      const i = left.indexOf(p.value);
      if (i < 0) return true;
      left.splice(i, 1);
      return false;
    });
    rules.push(unanswered ? { rule: 'ping-pong', status: 'fail', detail: `PING ${unanswered.value} has no PONG${hasReturnPath ? '' : ' (no return path recorded)'}`, channel: 'main', offset: unanswered.offset } : { rule: 'ping-pong', status: 'pass', detail: `${pings.length} PINGs, each answered by its PONG` });
  }
  if (requests.length === 0) rules.push({ rule: 'page-requests-served', status: 'n/a', detail: 'no page requests' });
  else {
    const unserved = requests.find((q) => !pagesSeenLate.has(`${q.block}+${q.start}`));
    rules.push(unserved ? { rule: 'page-requests-served', status: 'fail', detail: `request for "${unserved.block}" +0x${unserved.start.toString(16)} never answered by a page`, channel: 'return-path', offset: unserved.offset } : { rule: 'page-requests-served', status: 'pass', detail: `${requests.length} requests, each answered by its page` });
  }
  const ackOn = caps?.['switchover-ack'] === true;
  if (!ackOn) rules.push({ rule: 'switchover-ack', status: 'n/a', detail: caps ? 'switchover-ack off' : 'configuration unknown (no meta.json)' });
  else if (!ack) rules.push({ rule: 'switchover-ack', status: 'fail', detail: 'switchover-ack on, but no SWITCHOVER_ACK on the return path', channel: 'return-path' });
  else if (ack.time !== undefined && mainEnd !== undefined && ack.time > mainEnd) rules.push({ rule: 'switchover-ack', status: 'fail', detail: 'SWITCHOVER_ACK arrived after the migration completed', channel: 'return-path', offset: ack.offset });
  else rules.push({ rule: 'switchover-ack', status: 'pass', detail: 'SWITCHOVER_ACK before completion' });

  const decodeErrors = [...results.filter((r) => r.error).map((r) => ({ channel: r.channel.name, message: r.error!.message })), ...payloadErrors];
  if (decodeErrors.length) rules.unshift({ rule: 'decodes', status: 'fail', detail: decodeErrors.map((e) => e.message).join('; ') });
  const roundList = [...rounds.entries()].sort((a, b) => a[0] - b[0]).map(([round, pages]) => ({ round, pages }));
  return { ok: rules.every((r) => r.status !== 'fail'), rules, rounds: roundList, resentPages: resent, decodeErrors };
}
