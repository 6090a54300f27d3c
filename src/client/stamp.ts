/**
 * The headers NodeLease.publish stamps, encoded straight to the bytes nats.js would send. Building
 * them through nats.js `headers()` validates and looks up every key and runs a TextEncoder: that
 * cost more than the rest of a publish. The bytes are the same (test/client/stamp.test.ts), and
 * the rest of the MsgHdrs interface answers from real headers made on first use.
 *
 * An unsigned stamp (the common case) is a template of the ID's length copied into a slab, with
 * the digits written in twice: building the block as a string and copying that into a Buffer of
 * its own took twice as long (~400 ns against ~190 ns a block, measured on the bench machine).
 */
import { headers as natsHeaders, type Match, type MsgHdrs } from '@nats-io/transport-node';
import { SIG_HEADER } from './signature.js';
import { ID_HEADER } from './subscription.js';

export const MSG_ID_HEADER = 'Nats-Msg-Id';

/** nats.js sends headers by calling this, which MsgHdrs does not declare. */
interface Encodable {
  encode(): Uint8Array;
}

const HEAD = `NATS/1.0\r\n${ID_HEADER}: `;
const MSG_ID = `\r\n${MSG_ID_HEADER}: `;
const SIG = `\r\n${SIG_HEADER}: `;
const END = '\r\n\r\n';

/**
 * Blocks are cut from slabs of this size one after another, never reused: nats.js keeps each
 * block until its connection writes it out. A slab is freed with the last block cut from it.
 */
const SLAB_BYTES = 64 * 1024;
/** A larger block or frame gets a buffer of its own: it would waste most of a slab. */
const MAX_CUT_BYTES = SLAB_BYTES / 4;

/**
 * Cuts unsigned stamp blocks, and whole HPUB frames carrying one, from slabs. One for the
 * process: JavaScript encodes one at a time.
 */
class StampWriter {
  private slab = new Uint8Array(SLAB_BYTES);
  private used = 0;
  /** The block for IDs of `digits` digits, zeros where the digits go. */
  private template = new Uint8Array(0);
  private digits = -1;
  /** `HPUB <subject> ` for the subject framed last: a stream mostly publishes on one. */
  private subject = '';
  private prefix = new Uint8Array(0);

  write(id: string): Uint8Array {
    const t = this.blockTemplate(id.length);
    const out = this.cut(t.length);
    this.putBlock(out, 0, t, id);
    return out;
  }

  /**
   * `HPUB <subject> <hlen> <total>\r\n<block><data>\r\n`: what nats.js would write for a publish
   * of `data` with this ID's stamp, as one buffer. `subject` must be valid (stamp-frame.ts checks).
   */
  frame(subject: string, id: string, data: Uint8Array): Uint8Array {
    if (subject !== this.subject) {
      this.prefix = Buffer.from(`HPUB ${subject} `);
      this.subject = subject;
    }
    const t = this.blockTemplate(id.length);
    const hlen = String(t.length);
    const total = String(t.length + data.length);
    const prefix = this.prefix;
    const out = this.cut(prefix.length + hlen.length + 1 + total.length + 2 + t.length + data.length + 2);
    out.set(prefix);
    let p = ascii(out, prefix.length, hlen);
    out[p++] = 32; // ' '
    p = ascii(out, p, total);
    out[p++] = 13; // '\r'
    out[p++] = 10; // '\n'
    p = this.putBlock(out, p, t, id);
    out.set(data, p);
    p += data.length;
    out[p++] = 13;
    out[p] = 10;
    return out;
  }

  private blockTemplate(n: number): Uint8Array {
    if (n !== this.digits) {
      const zeros = '0'.repeat(n);
      this.template = Buffer.from(`${HEAD}${zeros}${MSG_ID}${zeros}${END}`, 'latin1');
      this.digits = n;
    }
    return this.template;
  }

  /** Copies the block template to `out` at `at` with the ID's digits written in; returns the end. */
  private putBlock(out: Uint8Array, at: number, t: Uint8Array, id: string): number {
    out.set(t, at);
    const n = id.length;
    const first = at + HEAD.length;
    const second = first + n + MSG_ID.length;
    for (let i = 0; i < n; i++) {
      const c = id.charCodeAt(i);
      out[first + i] = c;
      out[second + i] = c;
    }
    return at + t.length;
  }

  private cut(length: number): Uint8Array {
    if (length > MAX_CUT_BYTES) return new Uint8Array(length);
    if (this.used + length > SLAB_BYTES) {
      this.slab = new Uint8Array(SLAB_BYTES);
      this.used = 0;
    }
    const out = new Uint8Array(this.slab.buffer, this.used, length);
    this.used += length;
    return out;
  }
}

/** Writes the ASCII digits of `s` into `out` at `at`; returns the end. */
function ascii(out: Uint8Array, at: number, s: string): number {
  for (let i = 0; i < s.length; i++) out[at + i] = s.charCodeAt(i);
  return at + s.length;
}

const writer = new StampWriter();

/** The bytes of the unsigned stamp block for `id`. */
export function stampLength(id: string): number {
  return HEAD.length + MSG_ID.length + END.length + 2 * id.length;
}

/** An HPUB frame of `data` stamped with `id` (see StampWriter.frame). */
export function stampedFrame(subject: string, id: string, data: Uint8Array): Uint8Array {
  return writer.frame(subject, id, data);
}

export class StampHeaders implements MsgHdrs, Encodable {
  private h: (MsgHdrs & Encodable) | undefined;

  /** `id` is a decimal ID and `sig` base64url: ASCII without CR or LF, as a header value must be. */
  constructor(
    private readonly id: string,
    private readonly sig?: string,
  ) {}

  encode(): Uint8Array {
    if (this.h) return this.h.encode();
    if (this.sig === undefined) return writer.write(this.id);
    // Signing costs a hundred times this: the plain way. ASCII, so latin1 is the same bytes.
    return Buffer.from(`${HEAD}${this.id}${MSG_ID}${this.id}${SIG}${this.sig}${END}`, 'latin1');
  }

  private get full(): MsgHdrs & Encodable {
    if (!this.h) {
      const h = natsHeaders() as MsgHdrs & Encodable;
      h.set(ID_HEADER, this.id);
      h.set(MSG_ID_HEADER, this.id);
      if (this.sig !== undefined) h.set(SIG_HEADER, this.sig);
      this.h = h;
    }
    return this.h;
  }

  get hasError(): boolean {
    return false;
  }
  get status(): string {
    return '';
  }
  get code(): number {
    return 0;
  }
  get description(): string {
    return '';
  }
  get(k: string, match?: Match): string {
    return this.full.get(k, match);
  }
  set(k: string, v: string, match?: Match): void {
    this.full.set(k, v, match);
  }
  append(k: string, v: string, match?: Match): void {
    this.full.append(k, v, match);
  }
  has(k: string, match?: Match): boolean {
    return this.full.has(k, match);
  }
  keys(): string[] {
    return this.full.keys();
  }
  values(k: string, match?: Match): string[] {
    return this.full.values(k, match);
  }
  delete(k: string, match?: Match): void {
    this.full.delete(k, match);
  }
  last(k: string, match?: Match): string {
    return this.full.last(k, match);
  }
  [Symbol.iterator](): Iterator<[string, string[]]> {
    return this.full[Symbol.iterator]();
  }
}
