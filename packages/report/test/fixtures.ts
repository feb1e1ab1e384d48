/** The repository's recorded migrations (fixtures/), seen from compiled tests. */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let d = dirname(fileURLToPath(import.meta.url));
while (!existsSync(join(d, 'pnpm-workspace.yaml'))) d = dirname(d);
export const FIXTURES = join(d, 'fixtures');

export const fixture = (name: string): string => join(FIXTURES, name);
export const sourceQmp = (name: string): string => join(FIXTURES, name, 'qmp-src.jsonl');
