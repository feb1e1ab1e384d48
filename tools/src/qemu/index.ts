/**
 * Driving real QEMU: locating the installed releases, launching VMs with our guest, QMP, and
 * reading guest memory back. Used by `migwire replay` and `migwire fuzz qemu`, by the interop
 * tests and by the fixture generator. Nothing here knows the migration wire format.
 */
export * from './qmp.js';
export * from './guest.js';
export * from './vm.js';
export * from './memory.js';
