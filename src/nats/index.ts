/** The NATS side of snowgate: what the CLI and the composition root use. */
export { initNats, InitRefused } from './init.js';
export { loadNatsKeys, InvalidNatsKeys, MANIFEST_FILE, SERVER_CONF_FILE, SYSTEM_CREDS_FILE } from './keys.js';
export type { NatsKeys, NatsKeyManifest, NamedKey } from './keys.js';
export { NatsAuthority, NatsUnavailable } from './authority.js';
export type { NatsAuthorityOptions, IssueRequest, SignedUserJwt, Keys, Rotation } from './authority.js';
export { MemoryNatsStateStore, InvalidNatsState } from './state.js';
export type { NatsStateStore, NatsState, SigningKeyState, SigningKeyStage } from './state.js';
export { AccountPublisher, PushRejected, PushTimeout, CLAIMS_UPDATE_SUBJECT } from './publisher.js';
export type { AccountPublisherOptions, PublisherStatus, VersionedJwt } from './publisher.js';
export {
  expandPermissions,
  expandSubject,
  escapeSubjectValue,
  validateTemplate,
  subjectProblem,
  PermissionTemplateError,
  TEMPLATE_VARIABLES,
} from './permissions.js';
export type { TemplateValues, TemplateVariable } from './permissions.js';
export { issueUserJwt, newUserCreds, formatCreds } from './user-jwt.js';
export type { IssueUserJwtOptions } from './user-jwt.js';
export { buildAccountJwt, pruneRevocations, APP_ACCOUNT_LIMITS, SYSTEM_ACCOUNT_LIMITS } from './account.js';
export { createSigner, NativeSigner } from './signer.js';
export { isPublicKey, InvalidNkey } from './nkey.js';
