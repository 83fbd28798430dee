/**
 * A small strict XML 1.0 reader for tests: enough of the grammar for XMP packets, and it throws on
 * anything a real parser would refuse (a raw `<` or `&` in text, a character outside XML's Char
 * set, a mismatched or unclosed tag, a namespace prefix never declared, a duplicate attribute).
 */

export interface XmlElement {
  /** The qualified name as written (`dc:title`). */
  name: string;
  /** The namespace name its prefix is bound to (`http://purl.org/dc/elements/1.1/`). */
  namespace: string | undefined;
  local: string;
  attributes: Map<string, string>;
  children: XmlElement[];
  /** The element's own text (entities decoded, line ends normalized), without its children's. */
  text: string;
}

const XML_NAMESPACE = 'http://www.w3.org/XML/1998/namespace';

export function parseXml(input: string): XmlElement {
  checkChars(input);
  // XML 1.0 §2.11: a literal CR or CRLF reaches the application as LF.
  const source = input.replaceAll('\r\n', '\n').replaceAll('\r', '\n');
  let at = 0;
  const fail = (why: string): never => {
    throw new Error(`XML: ${why} at offset ${at}: ${JSON.stringify(source.slice(at, at + 30))}`);
  };
  const startsWith = (text: string) => source.startsWith(text, at);
  const skipSpace = () => {
    while (at < source.length && ' \t\n'.includes(source[at] as string)) at++;
  };
  const readName = () => {
    const start = at;
    while (at < source.length && !' \t\n/>=?'.includes(source[at] as string)) at++;
    const name = source.slice(start, at);
    if (name === '' || /^[-.0-9]/.test(name)) fail('a name was expected');
    return name;
  };

  if (startsWith('<?xml')) {
    const end = source.indexOf('?>', at);
    if (end < 0) fail('unclosed XML declaration');
    const declaration = source.slice(at, end);
    if (!declaration.includes('version="1.0"')) fail('not XML 1.0');
    at = end + 2;
  }
  const skipMisc = () => {
    for (;;) {
      skipSpace();
      if (startsWith('<!--')) {
        const end = source.indexOf('-->', at);
        if (end < 0) fail('unclosed comment');
        at = end + 3;
      } else if (startsWith('<?')) {
        const end = source.indexOf('?>', at);
        if (end < 0) fail('unclosed processing instruction');
        at = end + 2;
      } else return;
    }
  };

  const readElement = (scope: Map<string, string>): XmlElement => {
    if (source[at] !== '<') fail('an element was expected');
    at++;
    const name = readName();
    const attributes = new Map<string, string>();
    for (;;) {
      skipSpace();
      if (startsWith('/>') || startsWith('>')) break;
      const attribute = readName();
      skipSpace();
      if (source[at] !== '=') fail('= was expected');
      at++;
      skipSpace();
      const quote = source[at];
      if (quote !== '"' && quote !== "'") fail('a quoted value was expected');
      const end = source.indexOf(quote as string, at + 1);
      if (end < 0) fail('unclosed attribute value');
      const raw = source.slice(at + 1, end);
      if (raw.includes('<')) fail('< in an attribute value');
      if (attributes.has(attribute)) fail(`duplicate attribute ${attribute}`);
      attributes.set(attribute, decodeEntities(raw, fail));
      at = end + 1;
    }
    const namespaces = new Map(scope);
    for (const [attribute, value] of attributes) {
      if (attribute === 'xmlns') namespaces.set('', value);
      else if (attribute.startsWith('xmlns:')) namespaces.set(attribute.slice(6), value);
    }
    const resolve = (qualified: string, isAttribute: boolean) => {
      const colon = qualified.indexOf(':');
      if (colon < 0) return { namespace: isAttribute ? undefined : namespaces.get(''), local: qualified };
      const prefix = qualified.slice(0, colon);
      if (prefix === 'xmlns') return { namespace: 'xmlns', local: qualified.slice(colon + 1) };
      const namespace = namespaces.get(prefix);
      if (namespace === undefined) fail(`undeclared prefix ${prefix}`);
      return { namespace, local: qualified.slice(colon + 1) };
    };
    for (const attribute of attributes.keys()) resolve(attribute, true);
    const { namespace, local } = resolve(name, false);
    const element: XmlElement = { name, namespace, local, attributes, children: [], text: '' };
    if (startsWith('/>')) {
      at += 2;
      return element;
    }
    at++;
    for (;;) {
      if (at >= source.length) fail(`unclosed element ${name}`);
      if (startsWith('</')) {
        at += 2;
        const closing = readName();
        if (closing !== name) fail(`</${closing}> closes <${name}>`);
        skipSpace();
        if (source[at] !== '>') fail('> was expected');
        at++;
        return element;
      }
      if (startsWith('<!--')) {
        const end = source.indexOf('-->', at);
        if (end < 0) fail('unclosed comment');
        at = end + 3;
      } else if (startsWith('<![CDATA[')) {
        const end = source.indexOf(']]>', at);
        if (end < 0) fail('unclosed CDATA');
        element.text += source.slice(at + 9, end);
        at = end + 3;
      } else if (source[at] === '<') {
        element.children.push(readElement(namespaces));
      } else {
        const next = source.indexOf('<', at);
        const raw = source.slice(at, next < 0 ? source.length : next);
        if (raw.includes(']]>')) fail(']]> in text');
        element.text += decodeEntities(raw, fail);
        at += raw.length;
      }
    }
  };

  skipMisc();
  const root = readElement(new Map([['xml', XML_NAMESPACE]]));
  skipMisc();
  if (at !== source.length) fail('content after the root element');
  return root;
}

function decodeEntities(raw: string, fail: (why: string) => never): string {
  let result = '';
  let at = 0;
  for (;;) {
    const amp = raw.indexOf('&', at);
    if (amp < 0) return result + raw.slice(at);
    result += raw.slice(at, amp);
    const semi = raw.indexOf(';', amp);
    if (semi < 0) fail('& without ;');
    const entity = raw.slice(amp + 1, semi);
    const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
    if (entity in named) result += named[entity];
    else if (entity.startsWith('#x')) result += charRef(Number.parseInt(entity.slice(2), 16), fail);
    else if (entity.startsWith('#')) result += charRef(Number.parseInt(entity.slice(1), 10), fail);
    else fail(`unknown entity &${entity};`);
    at = semi + 1;
  }
}

function charRef(code: number, fail: (why: string) => never): string {
  if (!isXmlChar(code)) fail(`character reference to U+${code.toString(16)}, not an XML Char`);
  return String.fromCodePoint(code);
}

/** XML 1.0 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]. */
export function isXmlChar(code: number): boolean {
  return (
    code === 0x9 ||
    code === 0xa ||
    code === 0xd ||
    (code >= 0x20 && code <= 0xd7ff) ||
    (code >= 0xe000 && code <= 0xfffd) ||
    (code >= 0x10000 && code <= 0x10ffff)
  );
}

function checkChars(text: string): void {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) throw new Error(`XML: lone surrogate at ${i}`);
      i++;
    } else if (!isXmlChar(unit)) {
      throw new Error(`XML: U+${unit.toString(16).padStart(4, '0')} at ${i} is not an XML Char`);
    }
  }
}

const RDF = 'http://www.w3.org/1999/02/22-rdf-syntax-ns#';

/** One XMP property as read back: its simple value, or the items of its rdf:Alt / rdf:Bag / rdf:Seq. */
export type XmpValue = { kind: 'text'; value: string } | { kind: 'alt' | 'bag' | 'seq'; values: string[] };

/**
 * The properties of an XMP packet, keyed by `namespace name + local name` (so a test does not
 * depend on the prefixes chosen), read from every rdf:Description under x:xmpmeta/rdf:RDF.
 */
export function readXmp(text: string): { toolkit: string | undefined; properties: Map<string, XmpValue> } {
  const root = parseXml(text);
  if (root.namespace !== 'adobe:ns:meta/' || root.local !== 'xmpmeta')
    throw new Error('XMP: root is not x:xmpmeta');
  const rdf = root.children.find((child) => child.namespace === RDF && child.local === 'RDF');
  if (!rdf) throw new Error('XMP: no rdf:RDF');
  const properties = new Map<string, XmpValue>();
  for (const description of rdf.children) {
    if (description.namespace !== RDF || description.local !== 'Description')
      throw new Error(`XMP: ${description.name} in rdf:RDF`);
    for (const property of description.children) {
      const key = `${property.namespace}${property.local}`;
      if (properties.has(key)) throw new Error(`XMP: ${property.name} twice`);
      const [container, ...more] = property.children;
      if (!container) {
        properties.set(key, { kind: 'text', value: property.text });
        continue;
      }
      if (more.length > 0 || property.text.trim() !== '') throw new Error(`XMP: ${property.name} is mixed`);
      const kind = container.namespace === RDF ? container.local.toLowerCase() : '';
      if (kind !== 'alt' && kind !== 'bag' && kind !== 'seq')
        throw new Error(`XMP: ${container.name} container`);
      const values = container.children.map((item) => {
        if (item.namespace !== RDF || item.local !== 'li')
          throw new Error(`XMP: ${item.name} in a container`);
        if (kind === 'alt' && !item.attributes.has('xml:lang'))
          throw new Error('XMP: rdf:Alt item without xml:lang');
        return item.text;
      });
      properties.set(key, { kind, values });
    }
  }
  return { toolkit: root.attributes.get('x:xmptk'), properties };
}
