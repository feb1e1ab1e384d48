/** A capture that cannot be read as one: missing, empty, corrupt (a bad .gz, a broken chunks.csv). */
export class CaptureError extends Error {
  override name = 'CaptureError';

  constructor(
    message: string,
    /** The file or directory at fault. */
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
