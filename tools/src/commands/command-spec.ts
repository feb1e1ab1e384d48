/** What every command file exports: its words for the user, its options, and how it runs. */
import type { ParseArgsConfig } from 'node:util';
import type { Output } from '../cli-io.js';

export type OptionValues = Record<string, string | boolean | string[] | undefined>;

export interface CommandSpec {
  summary: string;
  usage: string;
  help: string;
  options: NonNullable<ParseArgsConfig['options']>;
  /** PATH arguments: exactly one (default), none, or whatever the command checks itself. */
  paths?: 'one' | 'none' | 'any';
  /** Loads the command's modules (dynamic import) and runs it; returns the exit code. */
  run(positionals: string[], values: OptionValues, out: Output): Promise<number>;
}
