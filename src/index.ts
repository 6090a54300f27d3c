/**
 * snowgate's public surface for programs that embed the registry or mint IDs. Anything not
 * exported here is internal and may change without notice.
 */
export { startServer, type RunningServer, type ServerOptions } from './main.js';
export { loadConfig, resolveConfig, ConfigError } from './config/load.js';
export type { Config, PoolConfig, IssuerConfig } from './config/types.js';
export { decodeId, encodeId, parseIdString, type DecodedId } from './snowflake/codec.js';
export { DEFAULT_LAYOUT, type Layout, type LayoutWithEpoch } from './snowflake/layout.js';
export { SnowflakeGenerator, fenceDeadline } from './snowflake/generator.js';
export * from './snowflake/errors.js';
export type { Lease, Principal, Mapping, AuditEntry } from './registry/types.js';
