// The callout's xkey box opens what @nats-io/nkeys seals and seals what it opens (nats-server's
// xkv1 format), and refuses another key's or a tampered message.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createCurve } from '@nats-io/nkeys';
import { XkeyBox } from '../../src/nats/xkey.js';

const td = new TextDecoder();
const te = new TextEncoder();

describe('XkeyBox', () => {
  it('interoperates with @nats-io/nkeys curve keys both ways', () => {
    const ours = createCurve();
    const server = createCurve();
    const box = new XkeyBox(td.decode(ours.getSeed()));
    const sealed = server.seal(te.encode('a request'), ours.getPublicKey());
    assert.equal(td.decode(box.open(sealed, server.getPublicKey())), 'a request');
    const reply = box.seal(te.encode('a response'), server.getPublicKey());
    assert.equal(td.decode(server.open(reply, ours.getPublicKey())), 'a response');
    assert.equal(box.open(sealed, createCurve().getPublicKey()), null, 'from someone else');
    const flipped = new Uint8Array(sealed);
    flipped[flipped.length - 1]! ^= 1;
    assert.equal(box.open(flipped, server.getPublicKey()), null, 'tampered');
    assert.equal(box.open(te.encode('xkv2 and then some bytes, enough of them'), server.getPublicKey()), null);
  });
});
