/**
 * @migwire/qemu: driving real QEMU for migration work. Discovery of the installed releases
 * (7.2, 10.0, 11.1) by name, launching VMs with our tiny guest under process hygiene, QMP,
 * migration flows, and reading guest memory back. Nothing here knows the migration wire format.
 */
export * from './releases.js';
export * from './qmp.js';
export * from './guest.js';
export * from './vm.js';
export * from './migration.js';
export * from './memory.js';
export * from './devices.js';
