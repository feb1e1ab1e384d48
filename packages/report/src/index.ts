export { analyzeCapture, type AnalyzeOptions } from './analysis/analyze.js';
export { DEFAULT_DOWNTIME_LIMIT_MS } from './analysis/switchover.js';
export type * from './analysis/types.js';
export { parseQmpTranscript, readQmpTranscript, downtimeLimitAt, type QmpTranscript, type QmpMigrateAnswer } from './qmp/transcript.js';
export { renderReport } from './html/render.js';
export { headlineText } from './html/headline.js';
