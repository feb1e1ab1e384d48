// Moved to tools/src/qemu/ so the CLI can drive QEMU too; the harness keeps its import paths.
export * from 'migwire/qemu';
