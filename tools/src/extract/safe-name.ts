/** File names for RAM blocks: block names come from the stream, so they may try anything. */
import { resolve, sep } from 'node:path';

export function safeFileName(block: string, taken: Set<string>): string {
  let base = block.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_').slice(0, 120) || '_';
  let name = `${base}.img`;
  for (let k = 2; taken.has(name); k++) name = `${base}~${k}.img`;
  taken.add(name);
  return name;
}

/** Resolve `name` inside `dir`, refusing anything that would land elsewhere. */
export function insideDir(dir: string, name: string): string {
  const root = resolve(dir);
  const p = resolve(root, name);
  if (!p.startsWith(root + sep)) throw new Error(`refusing to write outside ${root}: ${name}`);
  return p;
}
