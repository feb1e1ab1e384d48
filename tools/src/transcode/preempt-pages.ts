/** The pages a recording carried on its postcopy-preempt channel, read when transcode resends them. */
import { MainStreamDecoder, type MainRecord, type RamBlockInfo } from '@migwire/stream-codec';
import type { CaptureChannel } from '@migwire/capture';
import { ChannelCursor } from '@migwire/capture';
import type { PostcopyPage } from './types.js';

/** Bare RAM records of `channel` as pages; `blocks` are the main channel's (known by the time they are read). */
export async function* preemptPages(channel: CaptureChannel, blocks: () => RamBlockInfo[]): AsyncGenerator<PostcopyPage> {
  const cur = new ChannelCursor<MainRecord>(channel, new MainStreamDecoder({ channel: channel.name, start: 'ram', ramBlocks: blocks() }));
  for (let r = await cur.next(); r; r = await cur.next()) {
    if (r.kind === 'ram-page') yield { block: r.block, offset: r.pageOffset, data: r.data, fill: 0 };
    else if (r.kind === 'ram-zero') yield { block: r.block, offset: r.pageOffset, data: undefined, fill: r.fill };
  }
  if (cur.error) throw cur.error;
}
