/** What each rule checks, in a line or two: `migwire check --help` prints these (one owner). */
import type { RuleId } from './rule.js';

export const RULE_SUMMARIES: Readonly<Record<RuleId, string>> = {
  decodes: 'every channel decodes to its end; main ends with QEMU_VM_EOF',
  'multifd-channel-ids': 'init-message ids unique and exactly 0..N-1; N as meta.json records multifd-channels',
  'packet-numbers': 'increase per channel, unique across channels, none left out (one counter numbers every channel)',
  'sync-per-flush': 'each MULTIFD_FLUSH on main (each RAM EOS before 8.0) matched by one SYNC on every channel',
  'round-order': 'in a page\'s last round, no two copies on different channels that could land out of order (rounds counted per channel by SYNC)',
  'no-multifd-after-postcopy': 'nothing on multifd, not even a SYNC, once POSTCOPY_LISTEN arrived',
  'preempt-pages-only': 'the postcopy-preempt channel carries page records only',
  'ping-pong': 'every PING answered by a PONG with its value',
  'return-path-shut': 'once main reached QEMU_VM_EOF, the return path ends with SHUT status 0 and nothing after it',
  'page-requests-served': 'every REQ_PAGES(_ID) answered by the page after LISTEN; no request past its block\'s end',
  'switchover-ack': 'with switchover-ack on, SWITCHOVER_ACK as the machine type expects, before completion',
  'postcopy-final-flush': 'multifd + postcopy: the last flush before SWITCHOVER_START or LISTEN; no pages after a channel\'s last SYNC',
  'postcopy-ram-records': 'only ZERO, PAGE and EOS RAM records after LISTEN',
  'preempt-opened-last': 'the preempt connection opened after main and every multifd one',
  'postcopy-package': 'one PACKAGED holding LISTEN, PING 3, PING 0x42 (10.2+), RUN; its PINGs answered',
  'removed-commands': 'no command removed for the machine type (ENABLE_COLO on 11.x)',
  'sections-known': 'a "ram" section, and every device section one the VMDESCRIPTION lists by name and instance',
  'devices-described': 'each device\'s state exactly as long as its VMDESCRIPTION describes it, field by field; dirty-bitmap and block sections whole chunks',
};
