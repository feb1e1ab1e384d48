/**
 * After a capture's channel files were edited on purpose (a fuzzer's mutant, a doctored test
 * case), bring index.json's sizes and sha256 in line with them, so openCapture's content check
 * (which guards against files changed by accident) accepts the edit.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { isTcpProxyIndex, readCaptureIndex, writeCaptureIndex } from './capture-index.js';

export function restampIndex(dir: string): void {
  const index = readCaptureIndex(dir);
  if (!isTcpProxyIndex(index)) return;
  for (const c of index.connections) {
    // The schema lets a connection go without directions, and a direction without a file.
    for (const d of Object.values((c.directions as Partial<typeof c.directions> | undefined) ?? {})) {
      if (d?.file === undefined) continue;
      const plain = join(dir, d.file);
      const file = existsSync(plain) ? plain : existsSync(`${plain}.gz`) ? `${plain}.gz` : undefined;
      if (!file) continue;
      const bytes = file.endsWith('.gz') ? gunzipSync(readFileSync(file)) : readFileSync(file);
      d.file_size = bytes.length;
      d.sha256 = createHash('sha256').update(bytes).digest('hex');
    }
  }
  writeCaptureIndex(dir, index);
}
