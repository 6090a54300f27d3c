/**
 * The account JWT thread (account-jwt-builder.ts): builds and signs the account JWT of a stored
 * state, so the event loop does not serialise, hash and sign every revocation on each update.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { buildAccountJwt } from './account.js';
import { createSigner } from './signer.js';
import { parseState } from './state.js';

const { operatorSeed, accountPublicKey, name } = workerData as {
  operatorSeed: string;
  accountPublicKey: string;
  name: string;
};
const operator = createSigner(operatorSeed);

parentPort!.on('message', ({ id, data }: { id: number; data: string }) => {
  try {
    const s = parseState(data);
    const jwt = buildAccountJwt({
      operator,
      accountPublicKey,
      name,
      signingKeys: s.signingKeys.map((k) => k.publicKey),
      revocations: s.revocations,
      iatSeconds: s.accountIat,
    });
    parentPort!.postMessage({ id, jwt });
  } catch (e) {
    parentPort!.postMessage({ id, error: e instanceof Error ? e.message : String(e) });
  }
});
