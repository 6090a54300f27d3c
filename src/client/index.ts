/**
 * `snowgate/client`: what a service needs to mint IDs under a lease and stamp, publish and check
 * messages on NATS (CONTRACT §6-7). It holds no server code.
 */
export { NodeLease } from './node-lease.js';
export type {
  NodeLeaseOptions,
  NatsOptions,
  Grant,
  PublishOptions,
  StampedAck,
  NodeLeaseEventMap,
} from './node-lease.js';
export type { Lost } from './lease-keeper.js';
export { NatsHandle, type HandleStatus } from './nats-handle.js';
export { RotatingSubscription, type SubscribeOptions } from './subscription.js';
export { formatCreds, type NatsCredentials } from './creds.js';
export { tokenFromFile, type TokenProvider } from './token.js';
export { awsIamToken, type AwsIamTokenOptions } from './aws-iam-token.js';
export { CLIENT_METRICS, type ClientMetrics, type LatencySnapshot } from './metrics.js';
export { signedBytes, verifySignature, SIG_HEADER } from './signature.js';
export { ID_HEADER } from './subscription.js';
export type { LeaseResponse, LeaseJson, LayoutJson, LineageResponse } from './wire.js';
export * from './errors.js';
export {
  SnowflakeGenerator,
  fenceDeadline,
  type GeneratorOptions,
  type GeneratorStats,
} from '../snowflake/generator.js';
export * from '../snowflake/errors.js';
export { decodeId, type Decoded } from './decode.js';
export {
  LineageVerifier,
  type VerifierOptions,
  type CheckResult,
  type CheckProblem,
  type CheckedMessage,
} from './verifier.js';
