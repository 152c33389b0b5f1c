/**
 * Builds the v4 notification envelopes (pure: clock and id generator are passed in). The three
 * event types and their fields are the spec's; `timeOcurred` keeps the v4 spelling because v4
 * listeners read that name.
 */
import type { ShoppingCart } from '../api-types.js';
import type { CartTimes } from '../store/store.js';
import type { OutboxEvent } from './types.js';

export const eventTypes = [
  'ShoppingCartCreateEvent',
  'ShoppingCartAttributeValueChangeEvent',
  'ShoppingCartDeleteEvent',
] as const;
export type EventType = (typeof eventTypes)[number];

const titles: Record<EventType, string> = {
  ShoppingCartCreateEvent: 'Shopping cart created',
  ShoppingCartAttributeValueChangeEvent: 'Shopping cart attribute value changed',
  ShoppingCartDeleteEvent: 'Shopping cart deleted',
};

export interface EventContext {
  eventId: string;
  now: string;
  correlationId: string | undefined;
  /** The cart's times, recorded with the event (OutboxRecord.cartTimes). */
  cartTimes?: CartTimes;
}

export function buildEvent(
  eventType: EventType,
  cart: ShoppingCart,
  ctx: EventContext,
  fieldPath?: string,
): OutboxEvent {
  const body: Record<string, unknown> = {
    eventId: ctx.eventId,
    eventTime: ctx.now,
    eventType,
    timeOcurred: ctx.now,
    title: titles[eventType],
    domain: 'shoppingCart',
    priority: 'normal',
    ...(ctx.correlationId === undefined ? {} : { correlationId: ctx.correlationId }),
    ...(fieldPath === undefined ? {} : { fieldPath }),
    event: { shoppingCart: cart },
  };
  const record: OutboxEvent = { eventId: ctx.eventId, cartId: cart.id ?? '', eventType, body };
  return ctx.cartTimes === undefined ? record : { ...record, cartTimes: ctx.cartTimes };
}

/** The top-level attributes whose values differ between two versions of a cart, sorted. */
export function changedAttributes(before: ShoppingCart, after: ShoppingCart): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  const a = before as Record<string, unknown>;
  const b = after as Record<string, unknown>;
  return [...keys].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k])).sort();
}
