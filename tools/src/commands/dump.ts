/** `migwire dump`: its options, usage and help; the work is loaded only when it runs. */
import type { CommandSpec } from './command-spec.js';
import { MIGRATION_OPTION, migrationOf } from './migration-option.js';
import { INPUT_HELP } from './input-help.js';
import { UsageError } from '../errors/usage-error.js';

export const dump: CommandSpec = {
  summary: 'print every record of every channel (main, return path, multifd, postcopy-preempt)',
  usage: 'migwire dump PATH [--migration N] [--json] [--channel NAME]... [--section ID|IDSTR]... [--no-pages | --pages] [--fields] [--no-summary] [--bytes]',
  help: `${INPUT_HELP}

Output is one line per record: channel, byte offset, length, and what the record is. Runs of RAM
page records are folded into one line per RAM block unless --pages is given. A summary (records
and bytes per kind, pages per block, commands and return-path messages) ends the output.
Decoding streams each file: memory stays flat whatever the stream's size. Without --json,
--pages or --section, a main stream in a plain (not gzipped) file of 64 MiB or more is read on
several threads (one per core), runs of page records taken whole; what is printed is the same.

Options:
  --json             one JSON object per record (JSON lines); byte fields as {length, hex} with
                     the hex cut at 64 bytes (hexTruncated: true), page payloads left out,
                     integers beyond 2^53 as decimal strings
  --bytes            with --json: whole hex of every byte field, page payloads included
  --channel NAME     only this channel: main, return-path, multifd, multifd2, postcopy-preempt,
                     connNN or connNN.src2dst (repeatable)
  --section ID       only records of this section id or idstr, e.g. 2 or ram (repeatable)
  --no-pages         leave out RAM page records
  --pages            list every page record instead of one line per run
  --fields           show the VMState fields of device sections (uses the stream's own
                     VMDESCRIPTION trailer when the input is a seekable file)
  --no-summary       no summary at the end
Exit status: 0 when every channel decoded to the end (a main stream through QEMU_VM_EOF), 1 when
one stopped at an error (shown with its code, channel and byte offset), ended early, is not a
migration stream, or nothing could be decoded; 2 for a usage error.`,
  options: {
    json: { type: 'boolean' },
    channel: { type: 'string', multiple: true },
    section: { type: 'string', multiple: true },
    'no-pages': { type: 'boolean' },
    pages: { type: 'boolean' },
    fields: { type: 'boolean' },
    'no-summary': { type: 'boolean' },
    bytes: { type: 'boolean' },
    ...MIGRATION_OPTION,
  },
  run: async (pos, v, out) => {
    if (v['pages'] === true && v['no-pages'] === true) throw new UsageError('dump: --pages and --no-pages contradict each other: give one');
    if (v['bytes'] === true && v['json'] !== true) throw new UsageError('dump: --bytes shapes the JSON lines: give it with --json');
    const { dump } = await import('../dump/command.js');
    return dump(
      pos[0]!,
      {
        json: v['json'] === true,
        channels: (v['channel'] as string[] | undefined) ?? [],
        sections: (v['section'] as string[] | undefined) ?? [],
        noPages: v['no-pages'] === true,
        pages: v['pages'] === true,
        fields: v['fields'] === true,
        summary: v['no-summary'] !== true,
        bytes: v['bytes'] === true,
        migration: migrationOf(v['migration']),
      },
      out,
    );
  },
};
