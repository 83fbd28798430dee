import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildXmpPacket } from '../../src/metadata/xmp.ts';
import { isCompleteXmp } from '../../src/metadata/xmp-check.ts';
import { FULL_FACTS } from '../helpers/xmp.ts';

const bytes = (text: string) => Buffer.from(text, 'utf8');
const ours = buildXmpPacket(FULL_FACTS);
/** As darktable and Adobe write them: in a packet wrapper, with padding. */
const wrapped = `<?xpacket begin="\uFEFF" id="W5M0MpCehiHzreSzNTczkc9d"?>\n<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" a="x > y"/></rdf:RDF></x:xmpmeta>\n${' '.repeat(200)}\n<?xpacket end="w"?>`;

test('whole XMP packets: ours, an edited one, a wrapped one with padding, a bare x:xmpmeta', () => {
  assert.equal(isCompleteXmp(bytes(ours)), true);
  assert.equal(
    isCompleteXmp(bytes(ours.replace('Evening', 'Sunset <&amp;> dusk'.replace('<', '&lt;')))),
    true,
  );
  assert.equal(isCompleteXmp(bytes(wrapped)), true);
  assert.equal(isCompleteXmp(bytes('<x:xmpmeta xmlns:x="adobe:ns:meta/"/>\n')), true);
  assert.equal(isCompleteXmp(bytes(`\uFEFF${ours}`)), true);
});

test('not a whole packet: empty, cut short anywhere, NULs, two roots, another root, text outside, a lost trailer', () => {
  assert.equal(isCompleteXmp(new Uint8Array(0)), false);
  assert.equal(isCompleteXmp(bytes('   \n')), false);
  for (let cut = 1; cut < ours.trimEnd().length; cut += 7)
    assert.equal(isCompleteXmp(bytes(ours.slice(0, cut))), false, `cut at ${cut}`);
  assert.equal(isCompleteXmp(bytes(ours.slice(0, ours.lastIndexOf('</x:xmpmeta>') + 5))), false);
  // A power cut can leave the size written but the blocks zero, or the head then zeros.
  assert.equal(isCompleteXmp(new Uint8Array(300)), false);
  assert.equal(isCompleteXmp(Buffer.concat([bytes(ours.slice(0, 100)), new Uint8Array(200)])), false);
  assert.equal(isCompleteXmp(Buffer.concat([bytes(ours), new Uint8Array(8)])), false);
  assert.equal(isCompleteXmp(bytes(`${ours}${ours}`)), false);
  assert.equal(isCompleteXmp(bytes('<html><body/></html>')), false);
  assert.equal(isCompleteXmp(bytes(`${ours}trailing words`)), false);
  assert.equal(isCompleteXmp(bytes(wrapped.slice(0, wrapped.lastIndexOf('<?xpacket')))), false);
  assert.equal(isCompleteXmp(Buffer.from([0xff, 0xfe, 0x3c, 0x00])), false, 'not UTF-8');
});
