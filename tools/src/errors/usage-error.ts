/** The command line itself is wrong (unknown command or option, missing or contradictory flags, an unknown name): exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** "a, b, c" for listing the names a usage error offers instead (at most `max`, then "..."). */
export function nameList(names: Iterable<string>, max = 40): string {
  const all = [...new Set(names)];
  return all.length > max ? `${all.slice(0, max).join(', ')}, ...` : all.join(', ') || '(none)';
}
