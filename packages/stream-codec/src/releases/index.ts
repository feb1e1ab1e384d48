/** Per-release wire facts of QEMU migration: one module that the decoders and the tools share. */
export * from './version.js';
export * from './wire-facts.js';
export * from './commands.js';
export * from './multifd.js';
export * from './switchover-ack.js';
