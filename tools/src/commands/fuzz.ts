/** `migwire fuzz`: its options, usage and help; the work is loaded only when it runs. */
import type { CommandSpec } from './command-spec.js';
import { MIGRATION_OPTION, migrationOf } from './migration-option.js';

export const fuzz: CommandSpec = {
  summary: 'structure-aware fuzzing: mutated fixtures from real streams, our codec under 10^6 inputs, QEMU\'s loader',
  usage: 'migwire fuzz mutate SEED_STREAM --count N --out DIR [--seed S] [--kinds K,...] [--channel NAME] [--migration N] [--reduce] [--max-bytes N] [--force] [--json]\n       migwire fuzz codec [--count N] [--seed S] [--seeds PATH[#CHANNEL]]... [--kinds K,...] [--jobs N] [--out DIR] [--json]\n       migwire fuzz qemu --out DIR [--seeds PATH]... [--count N] [--qemu 10.0|7.2] [--timeout MS] [--seed S] [--kinds K,...] [--reduce] [--json]',
  help: `Seeds are real streams: a fixture or capture directory (its main channel, or --channel / PATH#CHANNEL:
return-path, "multifd 0", conn01.src2dst ...) or a stream file. A seed is decoded, mutated at the
structure level and re-encoded with the codec's encoders, or mutated byte by byte. Input i uses seed
number S+i (default S=1): the same seed stream, number and kinds give the same bytes everywhere.

Mutation kinds (--kinds takes a comma list; default all that apply to the channel):
  main:        section-id footer-id version-id instance-id idstr-length idstr-name subsection-name
               vmstate-field (guided by the stream's VMDESCRIPTION: counts, lengths, indices first)
               ram-flags ram-offset ram-mem-size ram-block-list command-length command-payload
               packaged-length
  multifd:     multifd-init-id multifd-init-version multifd-page-count multifd-zero-count
               multifd-next-packet-size multifd-packet-num multifd-compression
  return path: rp-type rp-length rp-payload
  any channel: record-drop record-duplicate bit-flip byte-set insert delete truncate

fuzz mutate SEED_STREAM --out DIR
  Writes --count (default 100) fixtures NNNN-KIND.bin and DIR/manifest.json: per fixture its seed
  number, the mutation (kind, path, old and new value), the byte offset it touched, size, sha256.
  --reduce keeps the guest's firmware (each block's first MiB) and a few RAM pages of each kind beyond
  it (a 32 MiB guest's stream shrinks to ~460 KB).
  Before writing it states the bytes it will write (count x seed size, on stderr) and refuses a
  run over --max-bytes (default 268435456, 256 MiB). DIR must be new or empty unless --force
  (files of the same name are replaced; a link is removed, never written through).

fuzz codec
  Feeds mutants through every decoder (MainStreamDecoder, ReturnPathDecoder, MultifdDecoder and
  MultifdPageDecoder) in random chunk sizes, from reduced seeds (default: every fixture, and the main
  channel, first multifd channel and return path of each shared capture). Every input must end in
  records or a CodecError, hold no more bytes than the decoder's limits allow, and after an error
  reset() must give a decoder that decodes the seed again; a worker thread whose input makes no
  progress for --hang-ms (default 10000) is a hang. Prints inputs/s, per-decoder counts and the
  error-code histogram. --count default 100000; --jobs worker threads (default 1); --out DIR keeps
  each finding's input and findings.json. Exit 1 when anything was found.

fuzz qemu --out DIR
  Loads each mutant into a fresh destination QEMU (-incoming defer, machine, RAM and capabilities
  from the seed's meta.json; migrate-incoming exec:cat FILE) and classifies it: loaded (completed;
  the guest is then run briefly), rejected (QEMU's error-desc and its printed lines kept), crashed
  (died by a signal: signal and last output lines kept), hung (no outcome within --timeout ms,
  default 10000). Crashing and hanging inputs are minimised (whole sections removed while the outcome
  stays the same) and kept in DIR/findings with a one-line QEMU command that reproduces them.
  Seeds (--seeds, repeatable; default every fixture) must be main streams with a meta.json.
  Writes DIR/results.jsonl (one line per input) and DIR/report.json; prints the outcomes per
  mutation kind and the most frequent rejection messages. Exit 1 when something crashed or hung.`,
  paths: 'any',
  options: {
    count: { type: 'string' },
    out: { type: 'string' },
    seed: { type: 'string' },
    kinds: { type: 'string', multiple: true },
    channel: { type: 'string' },
    seeds: { type: 'string', multiple: true },
    reduce: { type: 'boolean' },
    json: { type: 'boolean' },
    jobs: { type: 'string' },
    'hang-ms': { type: 'string' },
    qemu: { type: 'string' },
    timeout: { type: 'string' },
    'minimise-runs': { type: 'string' },
    quiet: { type: 'boolean' },
    ...MIGRATION_OPTION,
    force: { type: 'boolean' },
    'max-bytes': { type: 'string' },
  },
  run: async (pos, v, out) => {
    const { fuzz } = await import('../fuzz/command.js');
    return fuzz(pos, v, out);
  },
};
