/**
 * The CONFIGURATION record: be32 length + machine name, then optional VMState
 * subsections of the "configuration" description (10.0 sends them when needed).
 */
import { ErrorCode } from '../core/errors.js';
import { PayloadProblem } from '../core/problem.js';
import { bytesToLatin1, latin1ToBytes, writeU32 } from '../core/bytes.js';

export type ConfigurationSubsection =
  | { name: 'configuration/target-page-bits'; version: number; targetPageBits: number }
  | { name: 'configuration/capabilities'; version: number; capabilities: string[] }
  | { name: 'configuration/uuid'; version: number; uuid: Uint8Array };

/** Limit on one configuration subsection body; real ones are tens of bytes. */
const MAX_SUBSECTION_BYTES = 64 * 1024;

export type SubsectionParse =
  | { need: number } // more bytes needed (total from start of the subsection)
  | { sub: ConfigurationSubsection; length: number };

/**
 * Parse one subsection starting at byte 0 of `b` (which begins with 0x05).
 * `avail` bytes are readable; returns how many are needed when short.
 */
export function parseConfigurationSubsection(b: (i: number) => number, avail: number): SubsectionParse {
  if (avail < 2) return { need: 2 };
  const nameLen = b(1);
  const headLen = 2 + nameLen + 4;
  if (avail < headLen) return { need: headLen };
  const nameBytes = new Uint8Array(nameLen);
  for (let i = 0; i < nameLen; i++) nameBytes[i] = b(2 + i);
  const name = bytesToLatin1(nameBytes);
  const version = ((b(2 + nameLen) << 24) >>> 0) + ((b(3 + nameLen) << 16) | (b(4 + nameLen) << 8) | b(5 + nameLen));
  const u32 = (at: number) => ((b(at) << 24) >>> 0) + ((b(at + 1) << 16) | (b(at + 2) << 8) | b(at + 3));
  switch (name) {
    case 'configuration/target-page-bits': {
      if (avail < headLen + 4) return { need: headLen + 4 };
      return { sub: { name, version, targetPageBits: u32(headLen) }, length: headLen + 4 };
    }
    case 'configuration/uuid': {
      if (avail < headLen + 16) return { need: headLen + 16 };
      const uuid = new Uint8Array(16);
      for (let i = 0; i < 16; i++) uuid[i] = b(headLen + i);
      return { sub: { name, version, uuid }, length: headLen + 16 };
    }
    case 'configuration/capabilities': {
      if (avail < headLen + 4) return { need: headLen + 4 };
      const count = u32(headLen);
      if (count > 256) {
        throw new PayloadProblem(ErrorCode.BadConfiguration, 'configuration capability count beyond limit', '<= 256', String(count), headLen);
      }
      let at = headLen + 4;
      const caps: string[] = [];
      for (let k = 0; k < count; k++) {
        if (avail < at + 1) return { need: at + 1 };
        const len = b(at);
        if (avail < at + 1 + len) return { need: at + 1 + len };
        let s = '';
        for (let i = 0; i < len; i++) s += String.fromCharCode(b(at + 1 + i));
        caps.push(s);
        at += 1 + len;
        if (at > MAX_SUBSECTION_BYTES) break;
      }
      return { sub: { name, version, capabilities: caps }, length: at };
    }
    default:
      throw new PayloadProblem(
        ErrorCode.BadConfiguration,
        'unknown configuration subsection',
        'configuration/target-page-bits, configuration/capabilities or configuration/uuid',
        JSON.stringify(name),
        0,
      );
  }
}

export function encodeConfigurationSubsection(s: ConfigurationSubsection): Uint8Array {
  const name = latin1ToBytes(s.name);
  let body: Uint8Array;
  switch (s.name) {
    case 'configuration/target-page-bits':
      body = new Uint8Array(4);
      writeU32(body, 0, s.targetPageBits);
      break;
    case 'configuration/uuid':
      body = s.uuid;
      break;
    case 'configuration/capabilities': {
      const parts: number[] = [];
      for (const c of s.capabilities) {
        parts.push(c.length);
        for (let i = 0; i < c.length; i++) parts.push(c.charCodeAt(i) & 0xff);
      }
      body = new Uint8Array(4 + parts.length);
      writeU32(body, 0, s.capabilities.length);
      body.set(parts, 4);
      break;
    }
  }
  const out = new Uint8Array(2 + name.length + 4 + body.length);
  out[0] = 0x05;
  out[1] = name.length;
  out.set(name, 2);
  writeU32(out, 2 + name.length, s.version);
  out.set(body, 6 + name.length);
  return out;
}

