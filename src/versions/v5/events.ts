/**
 * A recorded event (the v4 envelope src/events/build-event.ts makes) in v5's shape, pure:
 * `timeOccurred` (v4 spells it `timeOcurred`), `@type` (required in v5: the event type's name),
 * and the cart as its v5 representation. `source`, `reportingSystem`, `relatedParty` and
 * `analyticCharacteristic` are left out: the server knows none of them. `fieldPath` (v4 only) is
 * kept as an extension attribute: it names top-level attributes, which both versions spell alike.
 */
import type { ShoppingCart } from '../../api-types.js';
import { isRecord, toV5Cart, type CartMeta } from './cart-view.js';

export type V5EventBody = Record<string, unknown>;

/**
 * `meta` is the cart's times recorded with the event (OutboxRecord.cartTimes). Without them (an
 * event recorded before they were kept), an event still says what it knows: lastUpdate is the event's time for a create or a change, and creationDate is
 * the event's time for a create.
 */
export function toV5Event(body: Record<string, unknown>, meta?: CartMeta): V5EventBody {
  const { timeOcurred, event, ...rest } = body;
  const time = typeof rest.eventTime === 'string' ? rest.eventTime : undefined;
  const type = rest.eventType;
  const cartMeta: CartMeta = meta ?? {
    createdAt: type === 'ShoppingCartCreateEvent' ? time : undefined,
    updatedAt: type === 'ShoppingCartDeleteEvent' ? undefined : time,
  };
  const cart = isRecord(event) && isRecord(event.shoppingCart) ? event.shoppingCart : undefined;
  return {
    ...rest,
    '@type': type,
    ...(timeOcurred === undefined && time === undefined ? {} : { timeOccurred: timeOcurred ?? time }),
    ...(isRecord(event)
      ? {
          event:
            cart === undefined ? event : { ...event, shoppingCart: toV5Cart(cart as ShoppingCart, cartMeta) },
        }
      : {}),
  };
}
