/**
 * NodeLease.publish's common case (an unsigned stamp, no other header, no reply) handed to
 * nats.js as one finished HPUB frame. Through nats.js `publish` a stamped message costs a
 * protocol line built as a string and run through a TextEncoder, and four buffers for it to
 * gather; with the frame cut from a slab it is one, and a stamped publish runs as fast as a
 * plain one (bench/client/fabric.ts), where through `publish` it could not pass ~86 % of it.
 *
 * This uses nats.js's protocol handler, which its public types do not declare: the fields read
 * here are checked on each use, and a connection without them takes the public `publish` with
 * the same stamp (test/client/stamp-frame.test.ts fails if the installed nats.js lost the path).
 * Everything `publish` refuses (a closed or draining connection, a bad subject, a server without
 * headers, a message over max_payload) also goes to `publish`, so it refuses it in its own words.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { StampHeaders, stampedFrame, stampLength } from './stamp.js';

/** What nats.js's ProtocolHandler has that the frame path uses. */
interface Protocol {
  info?: { headers?: boolean; max_payload: number };
  noMorePublishing: boolean;
  outBytes: number;
  outMsgs: number;
  isClosed(): boolean;
  sendCommand(frame: Uint8Array): void;
}

/** Larger payloads go through `publish`, which gathers them by reference instead of copying. */
const MAX_FRAMED_PAYLOAD = 8 * 1024;
/** What nats.js refuses in a subject (nats.js `_check`). */
const WHITESPACE = /[ \n\r\t]/;

/** The subject last found valid: a stream mostly publishes on one. */
let validSubject = '';

function protocolOf(nc: NatsConnection): Protocol | undefined {
  const p = (nc as { protocol?: Partial<Protocol> }).protocol;
  return p &&
    typeof p.sendCommand === 'function' &&
    typeof p.isClosed === 'function' &&
    typeof p.outBytes === 'number' &&
    typeof p.outMsgs === 'number' &&
    typeof p.noMorePublishing === 'boolean'
    ? (p as Protocol)
    : undefined;
}

/** Whether a publish on `nc` goes out as one frame (else through nats.js `publish`). */
export function framesOn(nc: NatsConnection): boolean {
  return protocolOf(nc) !== undefined;
}

/** Publishes `data` on `subject` stamped with `id`, as nats.js `publish` would with StampHeaders. */
export function publishStamped(nc: NatsConnection, subject: string, data: Uint8Array, id: string): void {
  const p = protocolOf(nc);
  const info = p?.info;
  if (
    p === undefined ||
    info === undefined ||
    info.headers !== true ||
    data.length > MAX_FRAMED_PAYLOAD ||
    p.isClosed() ||
    p.noMorePublishing ||
    !valid(subject) ||
    stampLength(id) + data.length > info.max_payload
  ) {
    nc.publish(subject, data, { headers: new StampHeaders(id) });
    return;
  }
  // nats.js counts the header block and payload of each message.
  p.outBytes += stampLength(id) + data.length;
  p.outMsgs++;
  p.sendCommand(stampedFrame(subject, id, data));
}

function valid(subject: string): boolean {
  if (subject === validSubject) return true;
  if (subject.length === 0 || WHITESPACE.test(subject)) return false;
  validSubject = subject;
  return true;
}
