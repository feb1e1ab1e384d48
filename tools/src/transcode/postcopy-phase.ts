/**
 * Where the recorded main stream stands against the switchover and postcopy, as the transcoder
 * passes it on. QEMU stops the VM right before the first of these records; with postcopy the
 * multifd channels get their last pages, one SYNC each and a MULTIFD_FLUSH before it (10.1+: the
 * only layout where multifd and postcopy meet), and carry nothing after.
 */
import { advisesRamPostcopy, type MainRecord } from '@migwire/stream-codec';

/** A top-level record that only comes once the source stopped the VM (switchover or postcopy start). */
export function beginsSwitchover(r: MainRecord): boolean {
  if (r.depth !== 0) return false;
  if (r.kind === 'section') return r.sectionType === 'end' || r.sectionType === 'full';
  return r.kind === 'command' && (r.args.command === 'SWITCHOVER_START' || beginsPostcopy(r));
}

/** A top-level command that opens postcopy: multifd must be flushed before it. */
export function beginsPostcopy(r: MainRecord): boolean {
  if (r.depth !== 0 || r.kind !== 'command') return false;
  const c = r.args.command;
  return c === 'SWITCHOVER_START' || c === 'POSTCOPY_RAM_DISCARD' || c === 'PACKAGED' || c === 'POSTCOPY_LISTEN';
}

export class PostcopyPhase {
  /** POSTCOPY_ADVISE for RAM: the stream may switch to postcopy. */
  advised = false;
  /** The output's multifd channels had their last barrier: pages go on main (or preempt) from now. */
  switched = false;
  /** POSTCOPY_RUN passed (inside PACKAGED): the destination runs on faulted-in pages. */
  running = false;
  /** The recording's preempt-channel pages were sent again. */
  preemptResent = false;
  /** The switchover hook ran. */
  switchoverReached = false;

  /** Track the commands that move the phase; call for every record, nested ones included. */
  see(r: MainRecord): void {
    if (r.kind !== 'command') return;
    if (advisesRamPostcopy(r.args)) this.advised = true;
    if (r.args.command === 'POSTCOPY_RUN') this.running = true;
  }

  /** Time to send the recording's preempt pages: the first top-level record after POSTCOPY_RUN. */
  resendPreemptBefore(r: MainRecord): boolean {
    return this.running && !this.preemptResent && r.depth === 0;
  }
}
