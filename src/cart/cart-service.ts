/**
 * The cart use cases: create, read, list, patch, delete. It owns the rules that are not HTTP
 * (server-made ids and hrefs, default validity, totals on every write, optimistic concurrency
 * with re-apply on conflict, events recorded with the change) and talks to the store only
 * through its interface. Clock and id generator are injected.
 */
import type { ShoppingCart, ShoppingCartCreate } from '../api-types.js';
import { cartNotFound, invalidValidFor } from '../errors.js';
import { buildEvent, changedAttributes, type EventType } from '../events/build-event.js';
import type { ListQuery } from '../query/ast.js';
import { parseDateTime } from '../query/dates.js';
import type { CartTimes, CartWrite, ListResult, Store, StoredCart } from '../store/store.js';
import { keyedLock } from '../keyed-lock.js';
import type { CartAccessPolicy } from './access-policy.js';
import { applyCartPatch, type PatchMediaType } from './patch.js';
import { priceCart, type RoundingMode } from './pricing/index.js';
import { assertCartDepth, assertValidCart } from './validate-cart.js';
import { loadCart, writeWithVersion } from './versioned-write.js';

export interface CartServiceDeps {
  store: Store;
  now: () => Date;
  newId: () => string;
  roundingMode: RoundingMode;
  cartTtlMs: number;
  /**
   * Attempts of read-apply-write before a conflicting PATCH gives up with 409, on a store without
   * updateCart (MongoDB); default 30. A store with it has no version conflicts to retry.
   */
  maxPatchAttempts?: number;
  /** Called after every committed write (the event dispatcher looks for work); never awaited. */
  afterWrite?: () => void;
  /** Deepest nesting a patched cart may have (JSON_MAX_DEPTH, as for request bodies). */
  maxDepth: number;
}

/** Who asked: for the event envelope, and what they may touch. */
export interface RequestContext {
  correlationId: string | undefined;
  /** Owner isolation (src/cart/access-policy.ts); absent, everything is allowed. */
  access?: CartAccessPolicy;
}

export interface CartService {
  create(input: ShoppingCartCreate, hrefOf: (id: string) => string, ctx: RequestContext): Promise<StoredCart>;
  /** A cart the caller may not see (`access`) is not found. */
  get(id: string, access?: CartAccessPolicy): Promise<StoredCart>;
  /** Only the carts the caller may see (`access`). */
  list(query: ListQuery, access?: CartAccessPolicy): Promise<ListResult>;
  patch(
    id: string,
    mediaType: PatchMediaType,
    body: unknown,
    ifMatch: number | undefined,
    ctx: RequestContext,
  ): Promise<StoredCart>;
  /**
   * A patch whose step is the caller's: `apply` makes the patched cart from the current one (a
   * v5 patch applies to the v5 view and maps back); the rest is patch's (retries, If-Match,
   * access, validation, pricing, events).
   */
  patchWith(
    id: string,
    apply: (current: StoredCart) => ShoppingCart,
    ifMatch: number | undefined,
    ctx: RequestContext,
  ): Promise<StoredCart>;
  remove(id: string, ifMatch: number | undefined, ctx: RequestContext): Promise<void>;
}

/** Epoch ms of a date-time, read exactly as the query evaluator and SQLite read it. */
const ms = (iso: string | undefined): number | undefined =>
  iso === undefined ? undefined : parseDateTime(iso);

function assertValidPeriod(cart: ShoppingCart): void {
  const start = ms(cart.validFor?.startDateTime);
  const end = ms(cart.validFor?.endDateTime);
  if (start !== undefined && end !== undefined && end < start) {
    throw invalidValidFor('validFor.endDateTime', 'is before validFor.startDateTime');
  }
}

/**
 * A new cart as the server makes it from the client's: the server's id and href (a client id or
 * href is ignored, api-rules: Create), '@type' ShoppingCart by default, validity from now for the
 * cart TTL unless given. Not yet priced.
 */
function draftCart(
  input: ShoppingCartCreate,
  id: string,
  hrefOf: (id: string) => string,
  now: Date,
  ttlMs: number,
): ShoppingCart {
  const { id: _id, href: _href, ...rest }: ShoppingCartCreate & { id?: unknown; href?: unknown } = input;
  const validFor = {
    startDateTime: input.validFor?.startDateTime ?? now.toISOString(),
    endDateTime: input.validFor?.endDateTime ?? new Date(now.getTime() + ttlMs).toISOString(),
  };
  const draft: ShoppingCart = {
    ...rest,
    id,
    href: hrefOf(id),
    '@type': input['@type'] ?? 'ShoppingCart',
    validFor,
  };
  assertValidPeriod(draft);
  return draft;
}

export function createCartService(deps: CartServiceDeps): CartService {
  const { store } = deps;
  const maxAttempts = deps.maxPatchAttempts ?? 30;
  const wrote = deps.afterWrite ?? (() => undefined);

  const events = (
    type: EventType,
    cart: ShoppingCart,
    ctx: RequestContext,
    now: string,
    cartTimes: CartTimes,
    fieldPath?: string,
  ) => [
    buildEvent(
      type,
      cart,
      { eventId: deps.newId(), now, correlationId: ctx.correlationId, cartTimes },
      fieldPath,
    ),
  ];

  /**
   * Writes to one cart run one after another within this process (a per-cart queue), in the
   * order they arrived: concurrent writers then never lose retry rounds to each other, and the
   * version-conflict retries are left for writers in other processes.
   */
  const serial = keyedLock();
  const writer = { store, now: deps.now, maxAttempts, wrote };
  const withVersion = (
    id: string,
    ifMatch: number | undefined,
    access: CartAccessPolicy | undefined,
    decide: (current: StoredCart) => CartWrite,
  ): Promise<StoredCart> => serial(id, () => writeWithVersion(writer, id, ifMatch, access, decide));

  const patchWith: CartService['patchWith'] = (id, apply, ifMatch, ctx) =>
    withVersion(id, ifMatch, ctx.access, (current): CartWrite => {
      const patched = apply(current);
      ctx.access?.assertMayStore(patched);
      assertCartDepth(patched, deps.maxDepth);
      assertValidCart(patched);
      const cart = priceCart(patched, { rounding: deps.roundingMode });
      const changed = changedAttributes(current.doc, cart);
      if (changed.length === 0) return { kind: 'none' };
      const nowIso = deps.now().toISOString();
      return {
        kind: 'replace',
        doc: cart,
        meta: { now: nowIso, expiresAt: ms(cart.validFor?.endDateTime) },
        events: events(
          'ShoppingCartAttributeValueChangeEvent',
          cart,
          ctx,
          nowIso,
          { createdAt: current.createdAt, updatedAt: nowIso },
          changed.join(','),
        ),
      };
    });

  return {
    async create(request, hrefOf, ctx) {
      const input = ctx.access ? ctx.access.forCreate(request) : request;
      const now = deps.now();
      const nowIso = now.toISOString();
      const cart = priceCart(draftCart(input, deps.newId(), hrefOf, now, deps.cartTtlMs), {
        rounding: deps.roundingMode,
      });
      const stored = await store.createCart(
        cart,
        { now: nowIso, expiresAt: ms(cart.validFor?.endDateTime) },
        events('ShoppingCartCreateEvent', cart, ctx, nowIso, { createdAt: nowIso, updatedAt: nowIso }),
      );
      wrote();
      return stored;
    },

    async get(id, access) {
      const cart = await loadCart(store, deps.now, id);
      if (access && !access.canSee(cart)) throw cartNotFound(id);
      return cart;
    },

    list: (query, access) =>
      store.listCarts(
        access && access.listConditions.length > 0
          ? { ...query, filter: { conditions: [...query.filter.conditions, ...access.listConditions] } }
          : query,
        deps.now().getTime(),
      ),

    patchWith,

    patch: (id, mediaType, body, ifMatch, ctx) =>
      patchWith(id, (current) => applyCartPatch(current.doc, mediaType, body), ifMatch, ctx),

    remove: async (id, ifMatch, ctx) => {
      await withVersion(id, ifMatch, ctx.access, (current): CartWrite => {
        const nowIso = deps.now().toISOString();
        const { createdAt, updatedAt } = current;
        const deleted = events('ShoppingCartDeleteEvent', current.doc, ctx, nowIso, { createdAt, updatedAt });
        return { kind: 'delete', events: deleted };
      });
    },
  };
}
