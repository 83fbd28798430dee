/**
 * Two of Google's system parameters, "available across all Google REST APIs"
 * (https://cloud.google.com/apis/docs/system-parameters), as the Library and Picker APIs answer
 * them (both list `fields` and `prettyPrint` among their parameters: photoslibrary.v1.json):
 *
 * - `prettyPrint` (or `$prettyPrint`): JSON "with indentations and line breaks", the default;
 *   `prettyPrint=false` answers it compact.
 * - `fields` (or `$fields`, or the `X-Goog-FieldMask` header): a partial response, only the fields
 *   named, as in `nextPageToken,mediaItems(id)` or `mediaItems/id` (the grammar Google's
 *   guides give: https://developers.google.com/workspace/drive/api/guides/fields-parameter).
 *   A field named that an answer does not hold is left out, as Google leaves out unset fields.
 *   Applied to answers that succeeded only: an error keeps its whole body. A mask that does not
 *   parse is refused with 400 INVALID_ARGUMENT, Google's answer to a malformed argument
 *   (https://cloud.google.com/apis/design/errors). Google also refuses names outside the
 *   resource's schema; this emulator knows no schema and does not (the client sends only the
 *   reference's names: nextPageToken, mediaItems(id), albums(id,title)).
 *
 * Drive's `fields` (its defaults differ: drive.ts) is answered by drive.ts itself; `prettyPrint`
 * applies to it too.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** A field mask as a tree: each name, and the mask of its own fields (undefined: all of it). */
export type FieldMask = Map<string, FieldMask | undefined>;

export interface AnswerFormat {
  pretty: boolean;
  fields?: FieldMask;
  /** The `fields` text that does not parse: the request is refused (400 INVALID_ARGUMENT). */
  badFields?: string;
}

const formats = new WeakMap<ServerResponse, AnswerFormat>();

/** The answer format `req` asks for; `withFields` false where the route answers `fields` itself. */
export function answerFormatOf(req: IncomingMessage, url: URL, withFields: boolean): AnswerFormat {
  const pretty = url.searchParams.get('prettyPrint') ?? url.searchParams.get('$prettyPrint');
  const format: AnswerFormat = { pretty: pretty === null || pretty.toLowerCase() !== 'false' };
  if (!withFields) return format;
  const header = req.headers['x-goog-fieldmask'];
  const text = url.searchParams.get('fields') ?? url.searchParams.get('$fields') ?? header;
  if (typeof text === 'string' && text.trim() !== '') {
    const mask = parseFieldMask(text);
    if (mask) format.fields = mask;
    else format.badFields = text;
  }
  return format;
}

export function setAnswerFormat(res: ServerResponse, format: AnswerFormat): void {
  formats.set(res, format);
}

export function answerFormat(res: ServerResponse): AnswerFormat | undefined {
  return formats.get(res);
}

/**
 * `a,b(c,d/e),f/g` → a tree; undefined when it does not parse (unbalanced parentheses, an empty
 * name). Pure.
 */
export function parseFieldMask(text: string): FieldMask | undefined {
  const source = text.replace(/\s+/g, '');
  let at = 0;
  const list = (): FieldMask | undefined => {
    const mask: FieldMask = new Map();
    for (;;) {
      const path: string[] = [];
      for (;;) {
        const name = /^[A-Za-z0-9_*]+/.exec(source.slice(at))?.[0];
        if (!name) return undefined;
        path.push(name);
        at += name.length;
        if (source[at] !== '/') break;
        at++;
      }
      let inner: FieldMask | undefined;
      if (source[at] === '(') {
        at++;
        inner = list();
        if (!inner || source[at] !== ')') return undefined;
        at++;
      }
      merge(mask, path, inner);
      if (source[at] !== ',') return mask;
      at++;
    }
  };
  const mask = list();
  return mask && at === source.length ? mask : undefined;
}

function merge(mask: FieldMask, path: string[], inner: FieldMask | undefined): void {
  const [head, ...rest] = path as [string, ...string[]];
  if (rest.length === 0) {
    const known = mask.get(head);
    if (mask.has(head) && known === undefined) return;
    if (inner === undefined || known === undefined) mask.set(head, inner);
    else for (const [name, sub] of inner) merge(known, [name], sub);
    return;
  }
  let next = mask.get(head);
  if (mask.has(head) && next === undefined) return;
  if (!next) {
    next = new Map();
    mask.set(head, next);
  }
  merge(next, rest, inner);
}

/** Only the fields `mask` names of `value` (each element of an array alike). Pure. */
export function selectFields(value: unknown, mask: FieldMask): unknown {
  if (Array.isArray(value)) return value.map((element) => selectFields(element, mask));
  if (value === null || typeof value !== 'object') return value;
  if (mask.has('*')) return value;
  const out: Record<string, unknown> = {};
  for (const [name, sub] of mask) {
    const field = (value as Record<string, unknown>)[name];
    if (field === undefined) continue;
    out[name] = sub === undefined ? field : selectFields(field, sub);
  }
  return out;
}
