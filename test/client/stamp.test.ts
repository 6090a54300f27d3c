import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { headers, Match } from '@nats-io/transport-node';
import { StampHeaders } from '../../src/client/stamp.js';

type Encodable = { encode(): Uint8Array };
const ID = '386353491926323200';
const SIG = 'q'.repeat(86);

function natsjs(id: string, sig?: string): Encodable {
  const h = headers();
  h.set('Snowflake-Id', id);
  h.set('Nats-Msg-Id', id);
  if (sig !== undefined) h.set('Snowflake-Sig', sig);
  return h as unknown as Encodable;
}

describe('StampHeaders', () => {
  it('encodes to the bytes nats.js headers() would send, with and without a signature', () => {
    assert.deepEqual(Buffer.from(new StampHeaders(ID).encode()), Buffer.from(natsjs(ID).encode()));
    assert.deepEqual(Buffer.from(new StampHeaders(ID, SIG).encode()), Buffer.from(natsjs(ID, SIG).encode()));
    assert.deepEqual(Buffer.from(new StampHeaders('0').encode()), Buffer.from(natsjs('0').encode()));
  });

  it('answers as MsgHdrs, and a change made through it is what it then encodes', () => {
    const h = new StampHeaders(ID, SIG);
    assert.equal(h.get('Snowflake-Id'), ID);
    assert.equal(h.get('nats-msg-id', Match.IgnoreCase), ID);
    assert.deepEqual(h.keys(), ['Snowflake-Id', 'Nats-Msg-Id', 'Snowflake-Sig']);
    assert.deepEqual(
      [...h].map(([k]) => k),
      ['Snowflake-Id', 'Nats-Msg-Id', 'Snowflake-Sig'],
    );
    assert.equal(h.hasError, false);
    assert.equal(h.code, 0);
    h.append('Trace', 'abc');
    const expected = natsjs(ID, SIG) as unknown as ReturnType<typeof headers>;
    expected.append('Trace', 'abc');
    assert.deepEqual(Buffer.from(h.encode()), Buffer.from((expected as unknown as Encodable).encode()));
  });

  it('hands out a buffer of its own each time: nats.js holds it until it is on the socket', () => {
    const a = new StampHeaders('1').encode();
    const copy = Buffer.from(a);
    new StampHeaders('2').encode();
    assert.deepEqual(Buffer.from(a), copy);
  });

  it('keeps every block it handed out intact across slabs and ID lengths', () => {
    // Far more than one slab's worth, held at once as nats.js holds a batch before writing it.
    const ids = Array.from({ length: 2000 }, (_, i) => String(BigInt(ID) + BigInt(i) * 7919n).slice(0, 1 + (i % 19)));
    const blocks = ids.map((id) => new StampHeaders(id).encode());
    for (const [i, id] of ids.entries())
      assert.deepEqual(Buffer.from(blocks[i]!), Buffer.from(natsjs(id).encode()), id);
  });
});
