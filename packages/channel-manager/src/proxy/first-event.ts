import type { EventEmitter } from 'node:events';

/**
 * Resolves at the first of `events` on `emitter`, and stops listening for all of them: a stream
 * waited on until it drains, or until it ends (close, error) and will not.
 */
export function firstEvent(emitter: EventEmitter, events: readonly string[]): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      for (const e of events) emitter.off(e, done);
      resolve();
    };
    for (const e of events) emitter.on(e, done);
  });
}
