/** Whether a folder's file system takes O_DIRECT (checked on our own, not by the code under test). */
import { closeSync, constants, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export function allowsDirect(dir: string): boolean {
  const probe = join(dir, '.probe');
  try {
    closeSync(openSync(probe, constants.O_WRONLY | constants.O_CREAT | constants.O_DIRECT, 0o644));
    return true;
  } catch {
    return false;
  } finally {
    rmSync(probe, { force: true });
  }
}
