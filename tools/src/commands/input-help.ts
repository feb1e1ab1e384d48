/** The PATH paragraph the reading commands share. */
export const INPUT_HELP = `PATH is a capture directory (connNN.src2dst.bin / connNN.dst2src.bin + index.json, or stream.bin),
a single stream file (a .gz file is unpacked on the fly), or - for standard input.`;
