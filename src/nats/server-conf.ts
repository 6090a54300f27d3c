/**
 * The nats-server configuration `snowgate init` writes: operator mode with the nats-based
 * `full` resolver, everything stateful under the init dir. No listen, http, cluster or leafnode
 * settings: whoever starts the server picks them (`-a 127.0.0.1 -p PORT`).
 */
import path from 'node:path';

export interface ServerConfInput {
  /** Absolute init dir. */
  dir: string;
  operatorJwt: string;
  systemAccount: string;
  /** Account public key → JWT, loaded into the resolver on the server's first start. */
  preload: Record<string, string>;
}

export const RESOLVER_DIR = 'jwt';
export const JETSTREAM_DIR = 'jetstream';

// JSON string syntax is valid NATS conf string syntax, and escapes quotes and backslashes.
const q = (s: string): string => JSON.stringify(s);

export function renderServerConf(input: ServerConfInput): string {
  if (!path.isAbsolute(input.dir)) throw new Error('the nats-server.conf needs an absolute dir');
  const preload = Object.entries(input.preload)
    .map(([key, jwt]) => `  ${key}: ${q(jwt)}`)
    .join('\n');
  return `# Written by \`snowgate init\`. Start with: nats-server -c ${input.dir}/nats-server.conf [-a HOST] [-p PORT]
# Operator mode: accounts come from the resolver below; snowgate pushes the application account's
# updates (signing keys, revocations) to it with the system account's user.

operator: ${q(input.operatorJwt)}
system_account: ${q(input.systemAccount)}

resolver: {
  type: full
  dir: ${q(path.join(input.dir, RESOLVER_DIR))}
  # Deleting an account would strand its users; snowgate never asks for it.
  allow_delete: false
  interval: "2m"
}

# Seeds the resolver on first start; an account JWT pushed later (newer iat) is kept over these.
resolver_preload: {
${preload}
}

jetstream: {
  store_dir: ${q(path.join(input.dir, JETSTREAM_DIR))}
}
`;
}
