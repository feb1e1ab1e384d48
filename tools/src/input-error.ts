/** What the user asked for cannot be done as asked (an option, a name, an input the command refuses): exit 2. */
export class InputError extends Error {
  override name = 'InputError';
}

/** What the user pointed at is unusable as data (does not decode, malformed side file): exit 1. */
export class DataError extends Error {
  override name = 'DataError';
}
