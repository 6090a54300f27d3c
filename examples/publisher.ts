// Leases a node from `snowgate dev` and publishes five stamped, signed messages on its subject.
import { NodeLease, tokenFromFile } from 'snowgate/client';

const registry = process.env.SNOWGATE_REGISTRY ?? 'http://127.0.0.1:8080';
const node = await NodeLease.acquire({ registry, token: tokenFromFile('token'), instance: 'publisher', nats: true });
const { pool, node: n } = node.lease;
for (let i = 1; i <= 5; i++) {
  const id = await node.publish(`ids.${pool}.${n}.greetings`, `hello ${i}`, { signed: true });
  console.log(`published ${id} on ids.${pool}.${n}.greetings`);
}
await node.close(); // drains NATS, then releases the lease
