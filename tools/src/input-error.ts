/** A user-facing problem with what the user asked for (a path, an option), not a protocol error: exit 2. */
export class InputError extends Error {
  override name = 'InputError';
}
