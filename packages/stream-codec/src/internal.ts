/**
 * `@migwire/stream-codec/internal`: building blocks of the decoders, for the toolkit's own
 * packages (fuzzers, tests). No stability promise: use the root entry point.
 */
export { ChunkQueue } from './core/chunk-queue.js';
export * from './core/bytes.js';
export { hex } from './core/errors.js';
export { PayloadProblem, problemToCodecError, asCodecErrors } from './core/problem.js';
export { resolveLimits } from './core/limits.js';
export { ZstdGuard } from './multifd/zstd-guard.js';
export { payloadInflater, type PayloadInflater } from './multifd/compression.js';
