/**
 * What a recording is, read off its first records before transcoding starts: the machine type
 * (its version decides the flush rule of an 8.0+ destination) and the multifd layout, compression
 * and uuid of its first multifd channel.
 */
import { MainStreamDecoder, MultifdDecoder, type MainRecord, type MultifdCompression, type MultifdLayout, type MultifdRecord } from '@migwire/stream-codec';
import { ChannelCursor, channelOrder, type Capture } from '@migwire/capture';

export interface RecordingProbe {
  machine: string | undefined;
  multifdChannels: number;
  multifdLayout: MultifdLayout | undefined;
  multifdCompression: MultifdCompression | undefined;
  multifdUuid: Uint8Array | undefined;
  uuid: Uint8Array | undefined;
}

/** Reads at most a few records of main and of the first multifd channel. */
export async function probeRecording(input: Capture): Promise<RecordingProbe> {
  const chans = channelOrder(input.channels);
  const out: RecordingProbe = { machine: undefined, multifdChannels: 0, multifdLayout: undefined, multifdCompression: undefined, multifdUuid: undefined, uuid: undefined };
  const main = chans.find((c) => c.role === 'main');
  if (main) {
    const cur = new ChannelCursor<MainRecord>(main, new MainStreamDecoder({ channel: main.name }));
    try {
      for (let r = await cur.next(), n = 0; r && n < 8; r = await cur.next(), n++) {
        if (r.kind !== 'configuration') continue;
        out.machine = r.machine;
        for (const s of r.subsections) if (s.name === 'configuration/uuid') out.uuid = s.uuid;
        break;
      }
    } finally {
      await cur.close();
    }
  }
  const multifd = chans.filter((c) => c.role === 'multifd');
  out.multifdChannels = multifd.length;
  if (multifd[0]) {
    const cur = new ChannelCursor<MultifdRecord>(multifd[0], new MultifdDecoder({ channel: multifd[0].name }));
    try {
      // The first packet is a SYNC without pages: look a little further for the compression.
      for (let r = await cur.next(), n = 0; r && n < 64; r = await cur.next(), n++) {
        if (r.kind === 'multifd-init') out.multifdUuid = r.uuid;
        if (r.kind !== 'multifd-packet') continue;
        out.multifdLayout ??= r.layout;
        if (r.normalPages > 0) {
          out.multifdCompression = r.compression;
          break;
        }
      }
    } finally {
      await cur.close();
    }
  }
  return out;
}

/** "pc-q35-7.2" -> [7, 2]; undefined for aliases ("q35") and unversioned names. */
export function machineVersion(machine: string | undefined): [number, number] | undefined {
  const m = /-(\d+)\.(\d+)$/.exec(machine ?? '');
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}
