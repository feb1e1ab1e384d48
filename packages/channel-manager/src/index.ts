export { ChannelError, ChannelErrorCode, type ChannelErrorPlace } from './errors.js';
export { ChannelRegistry, type AssignedChannel, type ChannelLayout } from './accept/registry.js';
export { OrderedDialer, type DialTarget } from './dial/ordered-dialer.js';
export { MigrationDialer } from './dial/migration-dialer.js';
export { MigrationAcceptor, type AcceptedChannel, type MigrationAcceptorEvents, type MigrationAcceptorOptions } from './accept/acceptor.js';
export { CaptureFiles } from './proxy/capture-files.js';
export { DEFAULT_FILE_BUFFER_BYTES, DirectionRecorder, type DirectionName, type DirectionStats, type EndReason } from './proxy/direction.js';
export {
  RecordingProxy,
  type ProxyProgress,
  type RecordingProxyOptions,
  type TerminatingTls,
} from './proxy/recording-proxy.js';
export * from './tls/certificates.js';
export { readQemuTlsDir } from './tls/read-dir.js';
