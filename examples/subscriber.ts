// Subscribes to every node of the pool and checks each message: order, duplicates, who minted it.
import { LineageVerifier, NodeLease, tokenFromFile } from 'snowgate/client';

const registry = process.env.SNOWGATE_REGISTRY ?? 'http://127.0.0.1:8080';
const token = tokenFromFile('token');
const node = await NodeLease.acquire({ registry, token, instance: 'subscriber', nats: true });
const verifier = new LineageVerifier({ registry, token });
process.once('SIGINT', () => void node.close()); // Ctrl-C: ends the subscription, releases the lease
const sub = node.nats.subscribe(`ids.${node.lease.pool}.>`);
console.log(`listening on ids.${node.lease.pool}.> as node ${node.lease.node}`);
for await (const msg of sub) {
  const r = await verifier.check(msg);
  const who = r.lease ? `${r.lease.principal.subject} (${r.lease.instance})` : 'nobody';
  const verdict = r.ok ? 'ok' : r.problems.join(', ');
  console.log(`${r.id} ${msg.string()}: node ${r.node}, minted by ${who}, ${verdict}, signature ${r.signature}`);
}
