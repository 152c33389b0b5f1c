/**
 * Routing: each recorded event goes to the subscriptions it is for, as one delivery per
 * subscriber, with the body that subscriber gets (targetFor is the one place that decides it).
 */
import type { ShoppingCart } from '../api-types.js';
import { ownsCart } from '../cart/access-policy.js';
import { RegexBudgetExceeded, withRegexBudget } from '../query/safe-regex.js';
import type { RouteTarget, StoredSubscription } from '../store/store.js';
import type { OutboxEvent } from './types.js';
import type { Engine } from './dispatch-engine.js';
import { joinRouted } from './lanes.js';
import {
  parseSubscriptionQuery,
  shapeForSubscription,
  shapeOfBody,
  type SubscriptionQuery,
} from './subscription-query.js';

export type Router = (subs: StoredSubscription[]) => Promise<number>;

export function createRouter(engine: Engine): Router {
  const parsed = new Map<string, SubscriptionQuery>();
  const queryOf = (sub: StoredSubscription): SubscriptionQuery => {
    const q = sub.query ?? '';
    const version = sub.apiVersion ?? 'v4';
    const key = version === 'v4' ? q : `${version} ${q}`;
    let p = parsed.get(key);
    if (!p) {
      p = parseSubscriptionQuery(q, version);
      parsed.set(key, p);
    }
    return p;
  };

  /**
   * Whether `event` is for `sub`, and what it is sent: the target without a body gets the event
   * exactly as recorded (the store copies the recorded text; nobody parses it).
   */
  const targetFor = (sub: StoredSubscription, event: OutboxEvent): RouteTarget | undefined => {
    // Owner isolation, decided now (not when subscribing): a subscription with an owner hears
    // only of carts that name its owner in the event's own copy of the cart.
    if (sub.owner !== undefined) {
      const cart = (event.body.event as { shoppingCart?: ShoppingCart } | undefined)?.shoppingCart;
      if (cart === undefined || !ownsCart(cart, sub.owner)) return undefined;
    }
    let shaped: ReturnType<typeof shapeForSubscription>;
    try {
      shaped = shapeForSubscription(queryOf(sub), event.eventType, () => event.body, event.cartTimes);
    } catch (e) {
      if (!(e instanceof RegexBudgetExceeded)) throw e;
      engine.report(e);
      // Unfiltered, but in the subscription's shape.
      shaped = shapeOfBody(queryOf(sub), () => event.body, event.cartTimes);
    }
    return shaped && { subscriptionId: sub.id, ...shaped };
  };

  return (subs) =>
    engine.store.routeOutbox(
      // Each event's routing has one regex budget (safe-regex.ts), so no event can hold the
      // thread; past it the event goes to the remaining subscribers unfiltered (at least once).
      (event) =>
        withRegexBudget(() => {
          const targets: RouteTarget[] = [];
          for (const sub of subs) {
            const target = targetFor(sub, event);
            if (target) targets.push(target);
          }
          return targets;
        }),
      engine.settings.routeBatch,
      (made) => {
        joinRouted(engine, made);
      },
    );
}
