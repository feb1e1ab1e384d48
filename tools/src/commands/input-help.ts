/** The PATH paragraph the reading commands share. */
export const INPUT_HELP = `PATH is a capture directory (connNN.src2dst.bin / connNN.dst2src.bin + index.json, or stream.bin),
a single stream file (a .gz file is unpacked on the fly), a tcpdump/Wireshark capture (.pcap or
.pcapng, optionally .gz; each TCP direction of the migration is a channel, timing from the packet
timestamps; --migration N picks one when the file holds several), or - for standard input.`;
