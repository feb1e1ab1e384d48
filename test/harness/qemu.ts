/**
 * The real-QEMU driver for tests: everything of @migwire/qemu, plus the ava-side rule for a
 * missing release (skip outside CI, fail under CI=true).
 */
import { missingQemuMessage, qemuBinary, type MigrationOptions, type QemuBinary, type QemuVersion } from '@migwire/qemu';

export * from '@migwire/qemu';

/** The subset of ava's ExecutionContext requireQemu needs. */
export interface TestContextLike {
  title: string;
  log(...values: unknown[]): void;
  pass(message?: string): void;
  fail(message?: string): void;
}

/** CI=true: QEMU-backed tests must run, so a missing release is a failure, never a skip. */
export const QEMU_REQUIRED = process.env['CI'] === 'true';

/**
 * Declare a test only when `versions` are installed (or under CI=true, where requireQemu then
 * fails it): `whenQemu(test.serial, '11.1')(title, impl)`. A real skip otherwise.
 */
export function whenQemu<T extends { skip: unknown }>(declare: T, ...versions: QemuVersion[]): T | T['skip'] {
  return QEMU_REQUIRED || versions.every((v) => qemuBinary(v) !== null) ? declare : declare.skip;
}

/**
 * Inside a test: the binary, or null when this QEMU is missing. When missing, outside CI the test
 * is passed with a "SKIPPED" log line (ava cannot skip at run time; declare with whenQemu for a
 * real skip); with CI=true it fails with a clear message.
 */
export function requireQemu(t: TestContextLike, version: QemuVersion): QemuBinary | null {
  const b = qemuBinary(version);
  if (b) return b;
  const msg = missingQemuMessage(version);
  if (QEMU_REQUIRED) {
    t.fail(`${msg}. CI=true: QEMU-backed tests must not be skipped.`);
  } else {
    t.log(`SKIPPED: ${msg}`);
    t.pass();
  }
  return null;
}

/** A test case's capabilities and parameters as runMigration options (only those it sets). */
export function caseSettings(c: Pick<MigrationOptions, 'caps' | 'params' | 'srcParams'>): Pick<MigrationOptions, 'caps' | 'params' | 'srcParams'> {
  return {
    ...(c.caps ? { caps: c.caps } : {}),
    ...(c.params ? { params: c.params } : {}),
    ...(c.srcParams ? { srcParams: c.srcParams } : {}),
  };
}
