/**
 * Page-aligned memory for O_DIRECT, which wants the buffer's address, the file offset and the
 * length aligned to the device's block. Node has no aligned allocation; a WebAssembly memory is
 * page-aligned (the engine maps it whole).
 */

/** Offsets and lengths of O_DIRECT writes are multiples of this (covers 512 B and 4 KiB devices). */
export const ALIGN = 4096;
const WASM_PAGE = 65536;

// The one WebAssembly API used here (the project's TypeScript libs carry no WebAssembly types).
declare const WebAssembly: { Memory: new (descriptor: { initial: number }) => { readonly buffer: ArrayBuffer } };

/**
 * `count` page-aligned buffers of `size` bytes (a multiple of 64 KiB), in one memory. Throws when
 * there is no address space for it (only with very many channels at once).
 */
export function alignedBuffers(count: number, size: number): Buffer[] {
  const memory = new WebAssembly.Memory({ initial: (count * size) / WASM_PAGE });
  return Array.from({ length: count }, (_, i) => Buffer.from(memory.buffer, i * size, size));
}
