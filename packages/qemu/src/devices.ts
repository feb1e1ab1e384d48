/**
 * A guest with the devices real VMs have (network cards on user networking, virtio disk, SCSI,
 * balloon, console, RNG and GPU, USB, audio, watchdog, VGA), for checking that every device's
 * state decodes: the default test guest has only the machine's own 30. Each release installed
 * here (7.2, 10.0, 11.1) runs and migrates them. Option ROMs are left out (`romfile=`): 7.2's
 * unpacked debs lack them, and a guest that never boots from them does not need them.
 * NVMe is left out: 10.0 blocks migration with it.
 */
export const MANY_DEVICES: readonly string[] = [
  '-netdev user,id=n0 -device virtio-net-pci,netdev=n0,romfile=',
  '-netdev user,id=n1 -device e1000,netdev=n1,romfile=',
  '-netdev user,id=n2 -device e1000e,netdev=n2,romfile=',
  '-netdev user,id=n3 -device rtl8139,netdev=n3,romfile=',
  '-drive if=none,id=d1,driver=null-co -device virtio-blk-pci,drive=d1',
  '-device virtio-balloon-pci',
  '-device qemu-xhci -device usb-tablet -device usb-kbd',
  '-device usb-ehci',
  '-chardev null,id=c0 -device virtio-serial-pci -device virtconsole,chardev=c0',
  '-device virtio-rng-pci',
  '-device i6300esb',
  '-device VGA,romfile=',
  '-audiodev none,id=a0 -device intel-hda -device hda-duplex,audiodev=a0',
  '-drive if=none,id=d2,driver=null-co -device virtio-scsi-pci -device scsi-hd,drive=d2',
  '-device pvpanic',
  '-device virtio-gpu-pci,romfile=',
].flatMap((group) => group.split(' '));

/** Command-line options that add a device or its backend. */
const DEVICE_OPTIONS = new Set(['-device', '-netdev', '-chardev', '-audiodev']);

/**
 * The devices of a recorded QEMU command line (meta.json's argv), as option and value pairs, for a
 * destination that must take the recording (one without them refuses their sections). Drives only
 * when they name no file (`driver=null-co`): a file the recording used is not here to open.
 */
export function recordedDeviceArgs(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < argv.length; i++) {
    const [flag, value] = [argv[i]!, argv[i + 1]!];
    if (DEVICE_OPTIONS.has(flag) || (flag === '-drive' && value.includes('if=none') && value.includes('driver=null-co'))) {
      out.push(flag, value);
      i++;
    }
  }
  return out;
}
