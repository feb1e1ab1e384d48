/**
 * Main-channel record framing: the file header, then records by their type byte (sections,
 * footers, VMDESCRIPTION, CONFIGURATION, commands with PACKAGED nesting).
 */
import { Command, COMMAND_NAMES, QEMU_VM_FILE_MAGIC, QEMU_VM_FILE_VERSION, RecordType } from '../core/constants.js';
import { ErrorCode, hex } from '../core/errors.js';
import { PayloadProblem } from '../core/problem.js';
import { bytesToLatin1 } from '../core/bytes.js';
import { advisesRamPostcopy, decodeCommandArgs } from './commands.js';
import { commandInRelease } from '../releases/commands.js';
import { parseConfigurationSubsection, type ConfigurationSubsection } from './configuration.js';
import type { RecordSink } from './options.js';
import type { SectionType } from './records.js';
import { FOOTER_OF_RESUMED_SECTION, learnResumedSection, resumedSectionName } from './resume.js';
import { MainDecoderCore, State } from './state.js';
import { indexVmdesc, parseVmdesc, type ParsedVmdesc } from '../vmstate/description.js';

export function stepHeader(s: MainDecoderCore, sink: RecordSink): boolean {
  const q = s.q;
  if (q.length < 8) return false;
  const magic = q.u32(0);
  if (magic !== QEMU_VM_FILE_MAGIC) s.fail(ErrorCode.BadMagic, 'not a QEMU migration stream', 0, hex(QEMU_VM_FILE_MAGIC, 8) + ' ("QEVM")', hex(magic, 8));
  const version = q.u32(4);
  if (version !== QEMU_VM_FILE_VERSION) s.fail(ErrorCode.BadVersion, 'unsupported stream version', 4, String(QEMU_VM_FILE_VERSION), String(version));
  q.skip(8);
  sink({ kind: 'header', offset: 0, length: 8, depth: 0, magic, version });
  s.state = State.Record;
  return true;
}


export function stepRecord(s: MainDecoderCore, sink: RecordSink): boolean {
  const q = s.q;
  while (s.frames.length && s.frames[s.frames.length - 1]!.end === q.offset) s.frames.pop();
  if (q.length < 1) return false;
  const offset = q.offset;
  const depth = s.frames.length;
  const type = q.byte(0);
  // QEMU writes only its VMDESCRIPTION after the top-level EOF (a nested PACKAGED EOF ends the package).
  if (depth === 0 && s.afterEof !== 'open' && (type !== RecordType.VmDescription || s.afterEof === 'vmdesc')) {
    s.fail(ErrorCode.AfterEof, `bytes after QEMU_VM_EOF${s.afterEof === 'vmdesc' ? ' and its VMDESCRIPTION' : ''}`, offset, s.afterEof === 'vmdesc' ? 'end of stream' : 'a VMDESCRIPTION or end of stream', `record type ${hex(type, 2)}`);
  }
  switch (type) {
    case RecordType.Eof:
      q.skip(1);
      if (depth === 0) s.afterEof = 'eof';
      s.footerFor = -1;
      sink({ kind: 'eof', offset, length: 1, depth });
      return true;

    case RecordType.SectionStart:
    case RecordType.SectionFull: {
      if (q.length < 6) return false;
      const len = q.byte(5);
      const need = 6 + len + 8;
      s.checkFrame(need);
      if (q.length < need) return false;
      const sectionId = q.u32(1);
      const idstr = bytesToLatin1(q.peek(6, len));
      const instanceId = q.u32(6 + len);
      const versionId = q.u32(10 + len);
      q.skip(need);
      const sectionType: SectionType = type === RecordType.SectionStart ? 'start' : 'full';
      s.sections.set(sectionId, idstr);
      sink({ kind: 'section', offset, length: need, depth, sectionType, sectionId, idstr, instanceId, versionId });
      enterSection(s, sectionId, idstr, instanceId);
      return true;
    }

    case RecordType.SectionPart:
    case RecordType.SectionEnd: {
      s.checkFrame(5);
      if (q.length < 5) return false;
      const sectionId = q.u32(1);
      let idstr = s.sections.get(sectionId);
      if (idstr === undefined && s.resumed) idstr = resumedSectionName(s, sectionId, offset);
      if (idstr === undefined) s.fail(ErrorCode.UnknownSection, 'section PART/END for an id no START opened', offset + 1, 'a started section id', String(sectionId));
      q.skip(5);
      const sectionType: SectionType = type === RecordType.SectionPart ? 'part' : 'end';
      sink({ kind: 'section', offset, length: 5, depth, sectionType, sectionId, idstr });
      enterSection(s, sectionId, idstr, undefined);
      return true;
    }

    case RecordType.SectionFooter: {
      s.checkFrame(5);
      if (q.length < 5) return false;
      const sectionId = q.u32(1);
      if (s.footerFor === FOOTER_OF_RESUMED_SECTION) learnResumedSection(s, sectionId);
      else if (s.footerFor < 0) s.fail(ErrorCode.UnknownRecordType, 'section footer where no section ended', offset, 'a record type', hex(type, 2));
      else if (sectionId !== s.footerFor) s.fail(ErrorCode.FooterMismatch, 'section footer names another section', offset + 1, String(s.footerFor), String(sectionId));
      q.skip(5);
      s.footerFor = -1;
      sink({ kind: 'footer', offset, length: 5, depth, sectionId });
      return true;
    }

    case RecordType.VmDescription: {
      if (q.length < 5) return false;
      const len = q.u32(1);
      if (len > s.limits.maxVmdescBytes) s.fail(ErrorCode.LimitExceeded, 'VMDESCRIPTION longer than maxVmdescBytes', offset + 1, `<= ${s.limits.maxVmdescBytes}`, String(len));
      s.checkFrame(5 + len);
      if (q.length < 5 + len) return false;
      q.skip(5);
      const json = q.take(len);
      // A malformed description fails here, at its JSON, like any other malformed record: it is
      // the stream's last record, so nothing decodable is lost, and no reader gets it unchecked.
      let parsed: ParsedVmdesc;
      try {
        parsed = parseVmdesc(json);
      } catch (e) {
        if (e instanceof PayloadProblem) s.failProblem(e, offset + 5);
        throw e;
      }
      const { description, vmdesc } = parsed;
      if (vmdesc) {
        s.streamVmdesc = vmdesc;
        if (!s.vmdescIndex) s.vmdescIndex = indexVmdesc(vmdesc);
      }
      s.footerFor = -1;
      if (depth === 0 && s.afterEof === 'eof') s.afterEof = 'vmdesc';
      sink({ kind: 'vmdescription', offset, length: 5 + len, depth, json, description });
      return true;
    }

    case RecordType.Configuration:
      return stepConfiguration(s, sink, offset, depth);

    case RecordType.Command: {
      s.checkFrame(5);
      if (q.length < 5) return false;
      const command = q.u16(1);
      const len = q.u16(3);
      s.checkFrame(5 + len);
      if (q.length < 5 + len) return false;
      const name = COMMAND_NAMES[command];
      if (name === undefined) s.fail(ErrorCode.UnknownCommand, 'unknown command', offset + 1, '1..11', String(command));
      const release = s.options.destinationRelease;
      const inRelease = release !== undefined ? commandInRelease(command, release) : undefined;
      if (inRelease?.status === 'rejected') {
        s.fail(ErrorCode.UnknownCommand, `command ${command} (${inRelease.name}, was ${name}) is rejected by QEMU ${release}`, offset + 1, 'a command QEMU ' + release + ' accepts', String(command));
      }
      const payload = q.peek(5, len);
      let args;
      try {
        args = decodeCommandArgs(command, payload);
      } catch (e) {
        if (e instanceof PayloadProblem) s.failProblem(e, offset + 5);
        throw e;
      }
      if (args.command === 'PACKAGED') {
        if (args.length > s.limits.maxPackagedBytes) s.fail(ErrorCode.LimitExceeded, 'PACKAGED length beyond maxPackagedBytes', offset + 5, `<= ${s.limits.maxPackagedBytes}`, String(args.length));
        s.checkFrame(5 + len + args.length);
      }
      if (advisesRamPostcopy(args) && !s.capsFixed) s.caps.postcopyRam = true;
      q.skip(5 + len);
      s.footerFor = -1;
      sink({ kind: 'command', offset, length: 5 + len, depth, command, name, payload, args });
      if (args.command === 'PACKAGED' && command === Command.Packaged) s.frames.push({ end: q.offset + args.length });
      return true;
    }

    default:
      s.fail(ErrorCode.UnknownRecordType, 'unknown record type', offset, '0x00-0x08 or 0x7e', hex(type, 2));
  }
}


export function stepConfiguration(s: MainDecoderCore, sink: RecordSink, offset: number, depth: number): boolean {
  const q = s.q;
  if (q.length < 5) return false;
  const len = q.u32(1);
  if (len > s.limits.maxConfigurationNameBytes) s.fail(ErrorCode.LimitExceeded, 'CONFIGURATION machine name beyond maxConfigurationNameBytes', offset + 1, `<= ${s.limits.maxConfigurationNameBytes}`, String(len));
  let at = 5 + len;
  if (q.length < at) return false;
  // Subsections (0x05 ...) may follow the name; one byte of lookahead tells.
  const subs: ConfigurationSubsection[] = [];
  for (;;) {
    if (q.length <= at) {
      if (!s.ended) return false;
      break;
    }
    if (q.byte(at) !== RecordType.Subsection) break;
    const base = at;
    let r;
    try {
      r = parseConfigurationSubsection((i) => q.byte(base + i), q.length - base);
    } catch (e) {
      if (e instanceof PayloadProblem) s.failProblem(e, offset + base);
      throw e;
    }
    if ('need' in r) {
      if (s.ended) s.fail(ErrorCode.Truncated, 'stream ends inside a configuration subsection', offset + base, `${r.need} bytes`, `${q.length - base} bytes`);
      return false;
    }
    subs.push(r.sub);
    at += r.length;
  }
  const machine = bytesToLatin1(q.peek(5, len));
  q.skip(at);
  s.machine = machine;
  for (const sub of subs) {
    if (sub.name === 'configuration/capabilities' && !s.capsFixed) {
      s.caps.ignoreShared = sub.capabilities.includes('x-ignore-shared');
      s.caps.mappedRam = sub.capabilities.includes('mapped-ram');
    }
  }
  sink({ kind: 'configuration', offset, length: at, depth, machine, subsections: subs });
  return true;
}


export function enterSection(s: MainDecoderCore, sectionId: number, idstr: string, _instanceId: number | undefined): void {
  s.sectionId = sectionId;
  s.sectionIdstr = idstr;
  s.footerFor = -1;
  if (idstr === 'ram') {
    s.state = State.Ram;
  } else {
    s.state = State.Device;
    s.deviceScanFrom = 0;
    s.deviceShortFooter = undefined;
    s.deviceInstance = _instanceId;
  }
}

