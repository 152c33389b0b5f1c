/**
 * v5 attribute paths as canonical (stored, v4-shaped) paths, so the stores compile filters,
 * `fields` and `sort` as they always have: `relatedParty.partyOrPartyRole.id` on v5 is
 * `relatedParty.id` in the store. Pure; the renames are the ones of cart-view.ts, read from the
 * same tables. Array indices (JSON Pointer segments) pass through, so one function serves dotted
 * paths and pointers alike. v4 paths need no translation: the canonical form is v4's.
 */
import type { Condition, FilterValue, ListQuery, SortKey } from '../../query/ast.js';
import { parseFilterValue } from '../../query/parse.js';
import { invalid } from '../../query/terms.js';
import {
  agreementToV5,
  decimalAmount,
  hrefOnVersion,
  orderItemToV5,
  partyMembers,
  productPriceToV5,
} from './cart-view.js';

/** A canonical attribute path, or one of the store's metadata (v5's creationDate and lastUpdate). */
export type CanonicalPath =
  | { kind: 'document'; path: string[] }
  | { kind: 'metadata'; name: 'createdAt' | 'updatedAt' };

type Segments = readonly string[];
const isIndex = (s: string): boolean => s === '-' || /^\d+$/.test(s);
const invert = (names: Readonly<Record<string, string>>): Record<string, string> =>
  Object.fromEntries(Object.entries(names).map(([k, v]) => [v, k]));
const agreementFromV5 = invert(agreementToV5);
const orderItemFromV5 = invert(orderItemToV5);

/** Applies `inner` to what follows `head`, skipping array indices. */
const under =
  (inner: (rest: Segments) => string[]) =>
  (rest: Segments): string[] => {
    const [first, ...tail] = rest;
    if (first === undefined) return [];
    return isIndex(first) ? [first, ...under(inner)(tail)] : inner(rest);
  };

const renamed = (names: Readonly<Record<string, string>>) =>
  under(([first = '', ...tail]) => [names[first] ?? first, ...tail]);

/** Inside an association that v5 nests and v4 keeps flat: `<member>.id` is `id`. */
const nested = (member: string) =>
  under(([first = '', ...tail]) => {
    if (first !== member) return [first, ...tail];
    const inner = under(([m = '', ...after]) =>
      // The reference's own members are v4's flat ones; anything else is kept in the extension.
      (partyMembers as readonly string[]).includes(m) && after.length === 0 ? [m] : [member, m, ...after],
    );
    return tail.length === 0 ? [member] : inner(tail);
  });
/** The other way round: v5 refers flat, v4 nests the reference under `member`. */
const flat = (member: string) =>
  under(([first = '', ...tail]) =>
    (partyMembers as readonly string[]).includes(first) && tail.length === 0
      ? [member, first]
      : [first, ...tail],
  );
const party = nested('partyOrPartyRole');

const medium = under(([first = '', ...tail]) =>
  ['contactType', 'phoneNumber', 'emailAddress'].includes(first)
    ? ['characteristic', first, ...tail]
    : [first, ...tail],
);

const duration = under(([first = '', ...tail]) => [first === decimalAmount ? 'amount' : first, ...tail]);
const term = under(([first = '', ...tail]) =>
  first === 'duration' ? [first, ...duration(tail)] : [first, ...tail],
);

const product = (rest: Segments): string[] =>
  under(([first = '', ...tail]) => {
    switch (first) {
      case 'relatedParty':
        return [first, ...party(tail)];
      case 'product':
        return [first, ...product(tail)];
      case 'agreementItem':
        return ['agreement', ...renamed(agreementFromV5)(tail)];
      case 'productOrderItem':
        return [first, ...renamed(orderItemFromV5)(tail)];
      case 'productTerm':
        return [first, ...term(tail)];
      case 'productPrice':
        return [first, ...renamed(invert(productPriceToV5))(tail)];
      case 'productRelationship':
        return [first, ...flat('product')(tail)];
      case 'place':
        return [first, ...nested('place')(tail)];
      default:
        return [first, ...tail];
    }
  })(rest);

const item = (rest: Segments): string[] =>
  under(([first = '', ...tail]) => {
    switch (first) {
      case 'cartItem':
        return [first, ...item(tail)];
      case 'product':
        return [first, ...product(tail)];
      case 'itemTerm':
        return [first, ...term(tail)];
      default:
        return [first, ...tail];
    }
  })(rest);

/** The canonical path of a v5 attribute path (segments of a dotted path or of a JSON Pointer). */
export function toCanonicalPath(v5Path: Segments): CanonicalPath {
  const [first = '', ...tail] = v5Path;
  switch (first) {
    case 'creationDate':
      return { kind: 'metadata', name: 'createdAt' };
    case 'lastUpdate':
      return { kind: 'metadata', name: 'updatedAt' };
    case 'relatedParty':
      return { kind: 'document', path: [first, ...party(tail)] };
    case 'contactMedium':
      return { kind: 'document', path: [first, ...medium(tail)] };
    case 'cartItem':
      return { kind: 'document', path: [first, ...item(tail)] };
    default:
      return { kind: 'document', path: [...v5Path] };
  }
}

/** The canonical path of a filter's or sort key's v5 path: `creationDate.x` names nothing. */
const queryPath = (path: Segments, parameter: string): CanonicalPath => {
  const canonical = toCanonicalPath(path);
  if (canonical.kind === 'metadata' && path.length > 1) {
    throw invalid(
      parameter,
      `${path[0] ?? ''} is a date-time: it has no attribute ${path.slice(1).join('.')}`,
    );
  }
  return canonical;
};

/** An href compared on v5 names the v5 resource; the store holds the v4 one (cart-view.ts). */
const storedHref = (v: FilterValue): FilterValue =>
  v.kind === 'string' ? { ...v, value: String(hrefOnVersion(v.value, 'v5', 'v4')) } : v;

/**
 * One filter condition with canonical paths. creationDate and lastUpdate are the store's metadata
 * (metadata paths of ast.ts): the parser, reading v4's schema, took their values as strings, so
 * they are read again as date-times (a 400 when one is not, and for regex).
 */
const canonicalCondition = (c: Condition): Condition => {
  const dotted = c.path.join('.');
  const canonical = queryPath(c.path, `${dotted}.${c.op}`);
  if (canonical.kind === 'metadata') {
    const values = c.values.map((v) => parseFilterValue(c.op, 'date', String(v.value), `${dotted}.${c.op}`));
    return { path: [], metadata: canonical.name, op: c.op, kind: 'date', values };
  }
  const values = dotted === 'href' && c.op !== 'regex' ? c.values.map(storedHref) : c.values;
  return { ...c, path: canonical.path, values };
};

const canonicalSortKey = (key: SortKey): SortKey => {
  const canonical = queryPath(key.path, 'sort');
  return canonical.kind === 'metadata'
    ? { path: [], metadata: canonical.name, descending: key.descending }
    : { ...key, path: canonical.path };
};

/**
 * A list query written with v5 paths, as the canonical query the store compiles. Filters and sort
 * keys are translated one for one. `fields` becomes the top-level canonical attributes the v5
 * view needs (a v5 attribute may be made from several stored ones): the caller maps what the
 * store returns to v5 and projects it again with the v5 paths (projectFields). creationDate and
 * lastUpdate are not in the document: as fields they come from the metadata anyway; as filters
 * and sort keys they are metadata paths, which the stores compile to their own columns.
 */
export function toCanonicalListQuery(query: ListQuery): ListQuery {
  const fields =
    query.fields === undefined
      ? undefined
      : [
          ...new Set(
            query.fields.flatMap((f) => {
              const c = toCanonicalPath(f);
              return c.kind === 'document' && c.path[0] !== undefined ? [c.path[0]] : [];
            }),
          ),
        ].map((top) => [top]);
  return {
    ...query,
    filter: { conditions: query.filter.conditions.map(canonicalCondition) },
    sort: query.sort.map(canonicalSortKey),
    fields,
    withTimes: true,
  };
}

const decodeSegment = (s: string): string => s.replaceAll('~1', '/').replaceAll('~0', '~');
const encodeSegment = (s: string): string => s.replaceAll('~', '~0').replaceAll('/', '~1');

/**
 * The canonical JSON Pointer of a v5 one (RFC 6901). Patches are applied to the v5 view and
 * mapped back by difference (cart-input.ts applyV5Patch), so this is for what names one attribute,
 * not for rewriting patches. A pointer into the metadata has no canonical form: undefined.
 */
export function toCanonicalPointer(pointer: string): string | undefined {
  if (pointer === '') return '';
  const canonical = toCanonicalPath(pointer.slice(1).split('/').map(decodeSegment));
  return canonical.kind === 'metadata'
    ? undefined
    : canonical.path.map((s) => `/${encodeSegment(s)}`).join('');
}
