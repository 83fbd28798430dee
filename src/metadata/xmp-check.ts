/**
 * Whether the bytes of an `.xmp` on disk are a whole XMP packet: well-formed XML (every tag
 * closed, attributes quoted, no character XML forbids, such as the NULs a power cut can leave)
 * whose one root is `x:xmpmeta` or `rdf:RDF`, and, when it opens with an `<?xpacket begin` header,
 * closed by the `<?xpacket end` trailer the header promises. Pure.
 *
 * Only that much: it tells a sidecar someone edited (a whole packet of other bytes) from one cut
 * short or emptied (which no one edited, and which is written again); it is no validating parser.
 */

/** A character outside XML 1.0 §2.2 Char (the astral planes, as surrogate pairs, are allowed). */
function hasForbiddenChar(text: string): boolean {
  for (let at = 0; at < text.length; at++) {
    const code = text.charCodeAt(at);
    if (
      (code < 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d) ||
      code === 0xfffe ||
      code === 0xffff
    )
      return true;
  }
  return false;
}

const ROOTS = new Set(['x:xmpmeta', 'x:xapmeta', 'rdf:RDF']);

export function isCompleteXmp(bytes: Uint8Array): boolean {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return false;
  }
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  if (text.trim() === '' || hasForbiddenChar(text)) return false;
  if (/^\s*<\?xpacket\s+begin/.test(text) && !/<\?xpacket\s+end=["'][rw]["']\s*\?>\s*$/.test(text))
    return false;
  const open: string[] = [];
  let roots = 0;
  let at = 0;
  while (at < text.length) {
    const lt = text.indexOf('<', at);
    const between = text.slice(at, lt === -1 ? text.length : lt);
    // Text outside the root element may only be white space (padding included).
    if (open.length === 0 && between.trim() !== '') return false;
    if (between.includes('>') && open.length === 0) return false;
    if (lt === -1) break;
    const end = (closing: string): number => {
      const found = text.indexOf(closing, lt);
      return found === -1 ? -1 : found + closing.length;
    };
    let next: number;
    if (text.startsWith('<?', lt)) next = end('?>');
    else if (text.startsWith('<!--', lt)) next = end('-->');
    else if (text.startsWith('<![CDATA[', lt)) {
      if (open.length === 0) return false;
      next = end(']]>');
    } else if (text.startsWith('<!', lt))
      return false; // a DOCTYPE: no XMP has one
    else {
      next = tagEnd(text, lt);
      if (next === -1) return false;
      const tag = text.slice(lt + 1, next - 1);
      if (tag.startsWith('/')) {
        const name = tag.slice(1).trim();
        if (open.pop() !== name) return false;
      } else {
        const name = /^[^\s/>]+/.exec(tag)?.[0];
        if (!name) return false;
        if (open.length === 0) {
          if (++roots > 1 || !ROOTS.has(name)) return false;
        }
        if (!tag.endsWith('/')) open.push(name);
      }
    }
    if (next === -1) return false;
    at = next;
  }
  return roots === 1 && open.length === 0;
}

/** The offset just past the `>` closing the tag opened at `lt`, quotes respected; -1 when cut short. */
function tagEnd(text: string, lt: number): number {
  let quote: string | undefined;
  for (let at = lt + 1; at < text.length; at++) {
    const char = text[at];
    if (quote) {
      if (char === quote) quote = undefined;
      else if (char === '<') return -1;
    } else if (char === '"' || char === "'") quote = char;
    else if (char === '<') return -1;
    else if (char === '>') return at + 1;
  }
  return -1;
}
