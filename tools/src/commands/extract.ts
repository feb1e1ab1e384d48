/** `migwire extract`: its options, usage and help; the work is loaded only when it runs. */
import type { CommandSpec } from './command-spec.js';
import { MIGRATION_OPTION, migrationOf } from './migration-option.js';
import { INPUT_HELP } from './input-help.js';
import { UsageError } from '../errors/usage-error.js';

export const extract: CommandSpec = {
  summary: "rebuild the guest's RAM as the destination had it at completion, one image per RAM block",
  usage: 'migwire extract PATH [--migration N] --out DIR [--block NAME]... [--max-image-bytes N] [--force] [--quiet]',
  help: `${INPUT_HELP}

Writes DIR/<block>.img for each RAM block (block names are made safe: nothing is written outside
DIR), holding each page's last content in the order the destination applies them: pages from the
main channel (PAGE, ZERO, XBZRLE applied to the previous copy), multifd packets (normal pages,
decompressed; zero pages), and the postcopy-preempt channel. Multifd pages are applied round by
round (a page of a later SYNC round wins over an earlier one). Zero pages are holes: the images are
sparse files. Also writes DIR/blocks.json (name, file, length, pages written). A packet capture that
missed the main channel's start gives partial images: only the pages captured, each block up to its
last captured page, "partial": true in blocks.json, said on stderr, exit 1.

Options:
  --out DIR       output folder (created; an existing one must be empty)
  --block NAME    only this RAM block (repeatable)
  --max-image-bytes N
                  refuse (exit 1) RAM blocks that would make the images larger than N bytes in
                  all (default 68719476736, 64 GiB); block lengths beyond the stream's own MEM_SIZE
                  total are a decode error
  --force         write into a folder that is not empty (files of the same name are replaced; a
                  link is removed, never written through)
  --quiet         no progress on stderr`,
  options: { out: { type: 'string' }, block: { type: 'string', multiple: true }, quiet: { type: 'boolean' }, force: { type: 'boolean' }, 'max-image-bytes': { type: 'string' }, ...MIGRATION_OPTION },
  run: async (pos, v, out) => {
    if (typeof v['out'] !== 'string') throw new UsageError('extract needs --out DIR');
    const { extract } = await import('../extract/command.js');
    const max = v['max-image-bytes'];
    const maxImageBytes = typeof max === 'string' ? Number(max) : undefined;
    if (maxImageBytes !== undefined && !(Number.isSafeInteger(maxImageBytes) && maxImageBytes > 0)) throw new UsageError(`--max-image-bytes must be a positive number of bytes, got ${String(max)}`);
    return extract(
      pos[0]!,
      { outDir: v['out'], blocks: (v['block'] as string[] | undefined) ?? [], quiet: v['quiet'] === true, force: v['force'] === true, migration: migrationOf(v['migration']), ...(maxImageBytes !== undefined ? { maxImageBytes } : {}) },
      out,
    );
  },
};
