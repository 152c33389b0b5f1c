/**
 * The cart use cases: create, read, list, patch, delete. It owns the rules that are not HTTP
 * (server-made ids and hrefs, default validity, totals on every write, optimistic concurrency
 * with re-apply on conflict, events recorded with the change) and talks to the store only
 * through its interface. Clock and id generator are injected.
 */
import type { ShoppingCart, ShoppingCartCreate } from '../api-types.js';
import {
  cartNotFound,
  invalidValidFor,
  keptChanging,
  preconditionFailed,
  VersionConflict,
} from '../errors.js';
import { buildEvent, changedAttributes, type EventType } from '../events/build-event.js';
import type { ListQuery } from '../query/ast.js';
import { parseDateTime } from '../query/dates.js';
import type { CartTimes, CartWrite, ListResult, Store, StoredCart } from '../store/store.js';
import type { CartAccessPolicy } from './access-policy.js';
import { applyCartPatch, type PatchMediaType } from './patch.js';
import { priceCart, type RoundingMode } from './pricing/index.js';
import { assertCartDepth, assertValidCart } from './validate-cart.js';

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

  const load = async (id: string): Promise<StoredCart> => {
    const found = await store.getCart(id, deps.now().getTime());
    if (!found) throw cartNotFound(id);
    return found;
  };

  /**
   * Writes to one cart run one after another within this process (a per-cart queue), in the
   * order they arrived: concurrent writers then never lose retry rounds to each other, and the
   * version-conflict retries are left for writers in other processes.
   */
  const queues = new Map<string, Promise<unknown>>();
  const serial = <T>(id: string, work: () => Promise<T>): Promise<T> => {
    const before = queues.get(id) ?? Promise.resolve();
    const mine = before.then(work, work);
    const tail = mine.then(
      () => undefined,
      () => undefined,
    );
    queues.set(id, tail);
    void tail.then(() => {
      if (queues.get(id) === tail) queues.delete(id);
    });
    return mine;
  };

  /**
   * A write that depends on the cart as it is (patch, delete): `decide` looks at the current cart
   * and says what to write. With If-Match the client asked for that exact version, so any other
   * is a 412 and nothing is written.
   *
   * A store that reads and writes in one transaction (store.updateCart: SQLite, whose writers
   * take turns across processes too) gets the decision taken on the cart read first, and decides
   * again inside the transaction only if the cart changed meanwhile: concurrent writers never
   * conflict there. Otherwise optimistic concurrency: the write is conditional on the version
   * read, and a VersionConflict (someone else wrote first) reads and decides again, up to
   * maxAttempts, then 409.
   */
  const withVersion = async (
    id: string,
    ifMatch: number | undefined,
    access: CartAccessPolicy | undefined,
    decide: (current: StoredCart) => CartWrite,
  ): Promise<StoredCart> => {
    const checked = (current: StoredCart): CartWrite => {
      if (access && !access.canSee(current.doc)) throw cartNotFound(id);
      if (ifMatch !== undefined && current.version !== ifMatch) throw preconditionFailed(id);
      return decide(current);
    };
    if (store.updateCart) {
      const read = await load(id);
      const planned = checked(read);
      const { cart, written } = await store.updateCart(id, deps.now().getTime(), (current) =>
        current.version === read.version ? planned : checked(current),
      );
      if (written !== 'none') wrote();
      return cart;
    }
    for (let attempt = 1; ; attempt++) {
      const current = await load(id);
      const change = checked(current);
      try {
        switch (change.kind) {
          case 'none':
            return current;
          case 'replace': {
            const stored = await store.replaceCart(
              id,
              current.version,
              change.doc,
              change.meta,
              change.events,
            );
            wrote();
            return stored;
          }
          case 'delete':
            if (!(await store.deleteCart(id, current.version, deps.now().getTime(), change.events)))
              throw cartNotFound(id);
            wrote();
            return current;
        }
      } catch (e) {
        if (!(e instanceof VersionConflict)) throw e;
        if (ifMatch !== undefined) throw preconditionFailed(id);
        if (attempt >= maxAttempts) throw keptChanging(id);
      }
    }
  };

  const patchWith: CartService['patchWith'] = (id, apply, ifMatch, ctx) =>
    serial(id, () =>
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
      }),
    );

  return {
    async create(request, hrefOf, ctx) {
      const input = ctx.access ? ctx.access.forCreate(request) : request;
      const now = deps.now();
      const nowIso = now.toISOString();
      const id = deps.newId();
      // A client id or href is ignored: both are the server's (api-rules: Create).
      const { id: _id, href: _href, ...rest } = input as ShoppingCart;
      const validFor = {
        startDateTime: input.validFor?.startDateTime ?? nowIso,
        endDateTime: input.validFor?.endDateTime ?? new Date(now.getTime() + deps.cartTtlMs).toISOString(),
      };
      const draft: ShoppingCart = {
        ...rest,
        id,
        href: hrefOf(id),
        '@type': input['@type'] ?? 'ShoppingCart',
        validFor,
      };
      assertValidPeriod(draft);
      const cart = priceCart(draft, { rounding: deps.roundingMode });
      const stored = await store.createCart(
        cart,
        { now: nowIso, expiresAt: ms(validFor.endDateTime) },
        events('ShoppingCartCreateEvent', cart, ctx, nowIso, { createdAt: nowIso, updatedAt: nowIso }),
      );
      wrote();
      return stored;
    },

    async get(id, access) {
      const cart = await load(id);
      if (access && !access.canSee(cart.doc)) throw cartNotFound(id);
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
      await serial(id, () =>
        withVersion(id, ifMatch, ctx.access, (current): CartWrite => {
          const nowIso = deps.now().toISOString();
          const { createdAt, updatedAt } = current;
          const deleted = events('ShoppingCartDeleteEvent', current.doc, ctx, nowIso, {
            createdAt,
            updatedAt,
          });
          return { kind: 'delete', events: deleted };
        }),
      );
    },
  };
}
