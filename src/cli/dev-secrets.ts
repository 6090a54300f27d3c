import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface DevSecrets {
  /** Client secret of `dev-service`, the workload client. */
  service: string;
  /** Client secret of `dev-admin`, whose tokens carry the admin group. */
  admin: string;
}

const FILE = 'dev-clients.json';

function valid(v: unknown): v is DevSecrets {
  const s = v as Partial<DevSecrets> | undefined;
  return typeof s?.service === 'string' && s.service !== '' && typeof s.admin === 'string' && s.admin !== '';
}

/**
 * The dev clients' secrets, made once and kept (0600) in the data folder, so the token commands
 * `snowgate dev` prints keep working across restarts.
 */
export async function devSecrets(dataDir: string): Promise<DevSecrets> {
  const file = path.join(dataDir, FILE);
  try {
    const parsed: unknown = JSON.parse(await readFile(file, 'utf8'));
    if (valid(parsed)) return parsed;
    throw new Error(`${file}: not the dev client secrets; delete it to make new ones`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  // base64url: safe inside printed shell commands and HTTP basic auth (no ':').
  const secrets = { service: randomBytes(24).toString('base64url'), admin: randomBytes(24).toString('base64url') };
  await writeFile(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  return secrets;
}

/** The dev issuer's two clients: a workload, and an admin whose tokens carry the admin group. */
export function devClients(secrets: DevSecrets) {
  return [
    { clientId: 'dev-service', clientSecret: secrets.service },
    { clientId: 'dev-admin', clientSecret: secrets.admin, claims: { groups: ['snowgate-admins'] } },
  ];
}
