/**
 * What several rules need to know about the stream, kept once: the channels, the barriers main
 * has passed, where postcopy and switchover began, the machine type, the recorded configuration.
 * The runner feeds it every record before the rules see that record.
 */
import { Command, type CodecRecord, type MainRecord } from '@migwire/stream-codec';
import { RecordedBarriers } from '../destination/barrier-record.js';
import type { RuleChannel } from './rule.js';

/** The recorded configuration (meta.json), when there is one. */
export interface RecordedConfiguration {
  /** Migration capabilities as set on the source. */
  caps?: Record<string, boolean>;
  /** The migration object's switchover-ack-legacy property, when recorded. */
  switchoverAckLegacy?: boolean;
  /** The multifd-channels parameter, when multifd was on and the parameter was recorded. */
  multifdChannels?: number;
}

/** A point on a channel: byte offset and arrival time (seconds), when known. */
export interface StreamPoint {
  offset: number;
  at: number | undefined;
}

/** Decode problems found outside the decoders (e.g. a multifd payload that does not decompress), bounded. */
const MAX_PROBLEMS = 100;

export class StreamFacts {
  readonly channels: RuleChannel[] = [];
  readonly barriers = new RecordedBarriers();
  readonly config: RecordedConfiguration | undefined;
  /** Arrival times are known (chunks.csv offline; always live). */
  readonly timed: boolean;
  machine: string | undefined;
  /** First POSTCOPY_LISTEN / POSTCOPY_RUN / SWITCHOVER_START on main. */
  listen: StreamPoint | undefined;
  run: StreamPoint | undefined;
  switchoverStart: StreamPoint | undefined;
  openReturnPath: StreamPoint | undefined;
  /** The main stream's QEMU_VM_EOF (depth 0). */
  mainEnd: StreamPoint | undefined;
  readonly problems: Array<{ channel: string; message: string }> = [];

  constructor(o: { config?: RecordedConfiguration; timed: boolean }) {
    this.config = o.config;
    this.timed = o.timed;
  }

  /** Machine type version from the configuration section ("pc-q35-11.1" -> [11, 1]). */
  get machineVersion(): [number, number] | undefined {
    const m = /-(\d+)\.(\d+)$/.exec(this.machine ?? '');
    return m ? [Number(m[1]), Number(m[2])] : undefined;
  }

  get multifdChannels(): RuleChannel[] {
    return this.channels.filter((c) => c.role === 'multifd');
  }

  addChannel(c: RuleChannel): void {
    if (!this.channels.some((x) => x.conn === c.conn && x.name === c.name)) this.channels.push(c);
  }

  problem(channel: string, message: string): void {
    if (this.problems.length < MAX_PROBLEMS) this.problems.push({ channel, message });
  }

  observe(channel: RuleChannel, record: CodecRecord, at: number | undefined): void {
    if (channel.role !== 'main') return;
    const r = record as MainRecord;
    if (r.kind === 'configuration') this.machine ??= r.machine;
    else if (r.kind === 'eof' && r.depth === 0) this.mainEnd ??= { offset: r.offset, at };
    else if (r.kind === 'command') {
      const p = { offset: r.offset, at };
      if (r.command === Command.PostcopyListen) this.listen ??= p;
      else if (r.command === Command.PostcopyRun) this.run ??= p;
      else if (r.command === Command.SwitchoverStart) this.switchoverStart ??= p;
      else if (r.command === Command.OpenReturnPath) this.openReturnPath ??= p;
    } else this.barriers.observe(r);
  }
}
