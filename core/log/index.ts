/** Pure log helpers shared by the runner and the BuildCoordinator. */
export { createMasker, initialMaskState, MASK, maskChunk, maskFlush, maskText, type Masker, type MaskState } from "./mask.ts";
export { flushLines, initialLineState, joinLines, safeCut, splitLines, type FramedLine, type LineState } from "./lines.ts";
export { acceptFrame, LogOutbox, type AcceptResult, type FrameLimits } from "./sequence.ts";
