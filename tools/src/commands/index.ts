/** The command table, in the order `migwire --help` lists it. Loading it loads no command's work. */
import type { CommandSpec } from './command-spec.js';
import { check } from './check.js';
import { dump } from './dump.js';
import { extract } from './extract.js';
import { fuzz } from './fuzz.js';
import { importCapture } from './import.js';
import { record } from './record.js';
import { replay } from './replay.js';
import { report } from './report.js';
import { tlsCerts } from './tls-certs.js';
import { transcode } from './transcode.js';

export const COMMANDS: Record<string, CommandSpec> = { dump, check, record, transcode, replay, 'tls-certs': tlsCerts, extract, fuzz, import: importCapture, report };
