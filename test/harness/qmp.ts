// The real-QEMU driver lives in @migwire/qemu; the harness keeps its import paths.
export * from '@migwire/qemu';
