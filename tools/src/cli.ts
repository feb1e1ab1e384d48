/** The `migwire` command line: argument parsing, help, dispatch, and the one error policy. */
import { parseArgs } from 'node:util';
import { StdOutput, type Output } from './cli-io.js';
import { COMMANDS } from './commands/index.js';
import { EXIT_OK, EXIT_USAGE, reportError } from './errors/exit-policy.js';
import { nameList, UsageError } from './errors/usage-error.js';

function mainHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  return [
    'migwire: read, check and rebuild QEMU live-migration traffic',
    '',
    'Usage: migwire <command> [options]',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([k, c]) => `  ${k.padEnd(width)}  ${c.summary}`),
    '',
    "Run 'migwire <command> --help' for a command's options.",
  ].join('\n');
}

function commandHelp(name: string): string {
  const c = COMMANDS[name]!;
  return `migwire ${name}: ${c.summary}\n\nUsage: ${c.usage}\n\n${c.help}`;
}

export async function main(argv: string[], out: Output = new StdOutput()): Promise<number> {
  const [name, ...rest] = argv;
  try {
    if (name === undefined) {
      // No command is a usage error: the usage goes where errors go.
      out.err(mainHelp());
      return EXIT_USAGE;
    }
    if (name === '--help' || name === '-h' || name === 'help') {
      const sub = name === 'help' ? rest[0] : undefined;
      out.line(sub && COMMANDS[sub] ? commandHelp(sub) : mainHelp());
      return EXIT_OK;
    }
    if (name === '--version') {
      out.line('migwire 0.1.0');
      return EXIT_OK;
    }
    const cmd = COMMANDS[name];
    if (!cmd) throw new UsageError(`unknown command '${name}' (commands: ${nameList(Object.keys(COMMANDS))}; see migwire --help)`);
    if (rest.includes('--help') || rest.includes('-h')) {
      out.line(commandHelp(name));
      return EXIT_OK;
    }
    const seeHelp = `see migwire ${name} --help`;
    let parsed;
    try {
      parsed = parseArgs({ args: rest, options: cmd.options, allowPositionals: true, strict: true });
    } catch (e) {
      throw new UsageError(`${name}: ${(e as Error).message} (${seeHelp})`);
    }
    // An empty value names nothing (`--out ''`, an unset shell variable): a usage error, whatever the option.
    for (const [k, v] of Object.entries(parsed.values)) {
      if (v === '' || (Array.isArray(v) && v.includes(''))) throw new UsageError(`${name}: --${k} needs a value, got an empty one (${seeHelp})`);
    }
    if (parsed.positionals.includes('')) throw new UsageError(`${name}: PATH is empty (${seeHelp})`);
    const paths = cmd.paths ?? 'one';
    const n = parsed.positionals.length;
    if (paths === 'none' && n !== 0) throw new UsageError(`${name} takes no PATH (${seeHelp})`);
    if (paths === 'one' && n !== 1) throw new UsageError(`${name}: expected one PATH, got ${n} (${seeHelp})`);
    return await cmd.run(parsed.positionals, parsed.values as Record<string, string | boolean | string[] | undefined>, out);
  } catch (e) {
    return reportError(e, (l) => out.err(l));
  } finally {
    out.flush();
  }
}
