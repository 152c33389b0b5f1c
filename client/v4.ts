/**
 * The TMF663 v4 client: openapi-fetch over the generated v4 paths, plus what every caller would
 * otherwise write by hand (ETags kept with the cart, the three PATCH formats, paging, typed
 * filters, an Idempotency-Key on every create).
 */
import createClient, { type Client } from 'openapi-fetch';
import { apiVersions, type ContractV4 } from './contract.js';
import { errorOf, transport, type TransportOptions } from './http.js';

type C = ContractV4;
export type ShoppingCart = C['ShoppingCart'];
export type ShoppingCartCreate = C['ShoppingCartCreate'];
export type ShoppingCartMergePatch = C['ShoppingCartMergePatch'];
export type JsonPatchOperation = C['JsonPatchOperation'];
export type CartItem = C['CartItem'];
export type EventSubscription = C['EventSubscription'];
export type EventSubscriptionInput = C['EventSubscriptionInput'];
export type TmfError = C['Error'];
export type ShoppingCartEvent =
  | C['ShoppingCartCreateEvent']
  | C['ShoppingCartAttributeValueChangeEvent']
  | C['ShoppingCartDeleteEvent'];

/** A cart as read, with the ETag of that version: updates of it send If-Match. */
export interface VersionedCart {
  cart: ShoppingCart;
  /** The strong ETag of the version read, as the server sent it (`"3"`). */
  etag: string | undefined;
}

/** A cart to change: one read before (its ETag guards the change), or just an id (no guard). */
export type CartTarget = VersionedCart | string;

/** TMF630 comparison operators, appended to an attribute path (`cartItem.quantity.gt=2`). */
export type FilterOperator = 'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte' | 'regex';

/**
 * Attribute filters: the first segment is a ShoppingCart attribute, deeper paths and operators
 * follow it (`'cartItem.productOffering.id'`, `'validFor.endDateTime.gt'`). A value is matched as
 * the server reads it; an array is several values (any of them).
 */
export type CartFilter = Partial<
  Record<
    CartAttribute | `${CartAttribute}.${string}`,
    string | number | boolean | readonly (string | number | boolean)[]
  >
>;

/** The top-level attributes of a ShoppingCart. */
export type CartAttribute = Extract<keyof ShoppingCart, string>;

/** The list parameters the spec declares, and the filters TMF630 adds. */
export interface ListCartsQuery {
  /** Attributes to return (`['id', 'cartTotalPrice']`); `id` and `href` always come back. */
  fields?: readonly (CartAttribute | `${CartAttribute}.${string}`)[];
  offset?: C['ListParameters']['offset'];
  limit?: C['ListParameters']['limit'];
  /** Attribute paths, `-` first for descending (`['-lastUpdate', 'id']`). */
  sort?: readonly string[];
  filter?: CartFilter;
}

export interface CartPage {
  items: ShoppingCart[];
  /** Every match (X-Total-Count). */
  total: number;
  /** True when the server answered 206: more matches than this page holds. */
  partial: boolean;
}

export interface CreateOptions {
  /** The Idempotency-Key to send (default: a new random UUID per call). */
  idempotencyKey?: string;
}

export interface ClientOptions extends TransportOptions {
  /** The server's URL (`https://shop.example.com`); the version's base path is added to it. */
  baseUrl: string;
  /** Makes Idempotency-Keys (default crypto.randomUUID). */
  newIdempotencyKey?: () => string;
}

export interface ShoppingCartClientV4 {
  readonly version: 'v4';
  /** The openapi-fetch client over the v4 paths, for anything the helpers do not cover. */
  readonly raw: Client<C['paths']>;
  readonly carts: {
    /** Creates a cart; retried safely (one Idempotency-Key for all tries). */
    create(cart: ShoppingCartCreate, options?: CreateOptions): Promise<VersionedCart>;
    get(id: string, options?: { fields?: readonly string[] }): Promise<VersionedCart>;
    /** One page of carts. */
    list(query?: ListCartsQuery): Promise<CartPage>;
    /** Every matching cart, page after page (`pageSize` per request, default 100). */
    iterate(query?: Omit<ListCartsQuery, 'offset' | 'limit'>, pageSize?: number): AsyncIterable<ShoppingCart>;
    /** JSON Merge Patch (RFC 7396): null removes an attribute. */
    mergePatch(target: CartTarget, patch: ShoppingCartMergePatch): Promise<VersionedCart>;
    /** JSON Patch (RFC 6902). */
    jsonPatch(target: CartTarget, operations: readonly JsonPatchOperation[]): Promise<VersionedCart>;
    /** JSON Patch Query (TMF630): paths may select array members (`/cartItem[id=1]/quantity`). */
    jsonPatchQuery(target: CartTarget, operations: readonly JsonPatchOperation[]): Promise<VersionedCart>;
    delete(target: CartTarget): Promise<void>;
  };
  readonly hub: {
    /** Registers a listener for cart events; retried safely (Idempotency-Key). */
    subscribe(input: EventSubscriptionInput, options?: CreateOptions): Promise<EventSubscription>;
    unsubscribe(id: string): Promise<void>;
    list(): Promise<EventSubscription[]>;
  };
}

const patchTypes = {
  merge: 'application/merge-patch+json',
  jsonPatch: 'application/json-patch+json',
  jsonPatchQuery: 'application/json-patch-query+json',
} as const;

/** The list query string: declared parameters and filters, TMF630's reserved characters kept. */
export function listQueryString(query: ListCartsQuery): string {
  const parts: string[] = [];
  const enc = (text: string): string =>
    encodeURIComponent(text).replace(/%(40|2C|24)/gi, (m) => decodeURIComponent(m));
  if (query.fields !== undefined) parts.push(`fields=${enc(query.fields.join(','))}`);
  if (query.sort !== undefined) parts.push(`sort=${enc(query.sort.join(','))}`);
  if (query.offset !== undefined) parts.push(`offset=${String(query.offset)}`);
  if (query.limit !== undefined) parts.push(`limit=${String(query.limit)}`);
  for (const [path, value] of Object.entries(query.filter ?? {})) {
    if (value === undefined) continue;
    const values = Array.isArray(value) ? (value as (string | number | boolean)[]) : [value];
    parts.push(`${enc(path)}=${values.map((v) => enc(String(v))).join(',')}`);
  }
  return parts.join('&');
}

export function createShoppingCartClientV4(options: ClientOptions): ShoppingCartClientV4 {
  const base = options.baseUrl.replace(/\/+$/, '') + apiVersions.v4.basePath;
  const raw = createClient<C['paths']>({ baseUrl: base, fetch: transport(options) });
  const newKey = options.newIdempotencyKey ?? (() => globalThis.crypto.randomUUID());

  /** The data of a successful answer, or its TMF Error thrown as a typed error. */
  const expectOk = <T>(result: { data?: T; error?: unknown; response: Response }): T => {
    if (!result.response.ok) throw errorOf(result.response.status, result.error);
    return result.data as T;
  };
  const versioned = (result: {
    data?: ShoppingCart;
    error?: unknown;
    response: Response;
  }): VersionedCart => ({
    cart: expectOk(result),
    etag: result.response.headers.get('ETag') ?? undefined,
  });
  const idOf = (target: CartTarget): string => (typeof target === 'string' ? target : (target.cart.id ?? ''));
  const ifMatch = (target: CartTarget): Record<string, string> =>
    typeof target !== 'string' && target.etag !== undefined ? { 'If-Match': target.etag } : {};

  const patch = async (
    target: CartTarget,
    contentType: (typeof patchTypes)[keyof typeof patchTypes],
    body: ShoppingCartMergePatch | readonly JsonPatchOperation[],
  ): Promise<VersionedCart> =>
    versioned(
      await raw.PATCH('/shoppingCart/{id}', {
        params: { path: { id: idOf(target) } },
        // The spec declares one body per media type; openapi-fetch types the union of them.
        body: body as ShoppingCartMergePatch,
        headers: { 'Content-Type': contentType, ...ifMatch(target) },
      }),
    );

  const list = async (query: ListCartsQuery = {}): Promise<CartPage> => {
    const result = await raw.GET('/shoppingCart', {
      params: {
        query: {
          ...(query.offset === undefined ? {} : { offset: query.offset }),
          ...(query.limit === undefined ? {} : { limit: query.limit }),
        },
      },
      querySerializer: () => listQueryString(query),
    });
    const items = expectOk(result);
    const total = Number(result.response.headers.get('X-Total-Count') ?? items.length);
    return { items, total, partial: result.response.status === 206 };
  };

  return {
    version: 'v4',
    raw,
    carts: {
      create: async (cart, createOptions) =>
        versioned(
          await raw.POST('/shoppingCart', {
            body: cart,
            params: { header: { 'Idempotency-Key': createOptions?.idempotencyKey ?? newKey() } },
          }),
        ),
      get: async (id, getOptions) =>
        versioned(
          await raw.GET('/shoppingCart/{id}', {
            params: {
              path: { id },
              ...(getOptions?.fields === undefined ? {} : { query: { fields: getOptions.fields.join(',') } }),
            },
          }),
        ),
      list,
      iterate: (query = {}, pageSize = 100) => ({
        async *[Symbol.asyncIterator]() {
          for (let offset = 0; ; offset += pageSize) {
            const page = await list({ ...query, offset, limit: pageSize });
            yield* page.items;
            if (page.items.length === 0 || offset + page.items.length >= page.total) return;
          }
        },
      }),
      mergePatch: (target, body) => patch(target, patchTypes.merge, body),
      jsonPatch: (target, operations) => patch(target, patchTypes.jsonPatch, operations),
      jsonPatchQuery: (target, operations) => patch(target, patchTypes.jsonPatchQuery, operations),
      delete: async (target) => {
        expectOk(
          await raw.DELETE('/shoppingCart/{id}', {
            params: { path: { id: idOf(target) } },
            headers: ifMatch(target),
          }),
        );
      },
    },
    hub: {
      subscribe: async (input, createOptions) =>
        expectOk(
          await raw.POST('/hub', {
            body: input,
            params: { header: { 'Idempotency-Key': createOptions?.idempotencyKey ?? newKey() } },
          }),
        ),
      unsubscribe: async (id) => {
        expectOk(await raw.DELETE('/hub/{id}', { params: { path: { id } } }));
      },
      list: async () => expectOk(await raw.GET('/hub')),
    },
  };
}
