/** A bare fastify route in a process of its own: the ceiling any fastify service has on this machine. */
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.post('/', async () => ({ ok: true }));
await app.listen({ host: '127.0.0.1', port: Number(process.argv[2]) });
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
