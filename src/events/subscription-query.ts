/**
 * The hub subscription `query` (api-rules: Events): `eventType=A,B` selects event types,
 * `event.shoppingCart.<path>=value` filters on the payload with the TMF630 list semantics, `&` is
 * AND, `fields=event.shoppingCart.id,...` narrows the payload. Empty means every event.
 */
import type { ShoppingCart } from '../api-types.js';
import { invalidSubscriptionQuery } from '../errors.js';
import type { Filter } from '../query/ast.js';
import { matchesFilter, projectFields } from '../query/evaluate.js';
import { parseFilterPairs } from '../query/parse.js';
import { maxQueryLength } from '../query/terms.js';
import type { ApiVersionName, CartTimes } from '../store/store.js';
import { projectV5 } from '../versions/v5/cart-view.js';
import { toV5Event } from '../versions/v5/events.js';
import { toCanonicalListQuery } from '../versions/v5/paths.js';
import { eventTypes, type EventType } from './build-event.js';

const payloadPrefix = 'event.shoppingCart.';

export interface SubscriptionQuery {
  eventTypes: Set<EventType> | undefined;
  /** On the stored (v4-shaped) cart, whichever version the query was written for. */
  filter: Filter;
  /** Paths of the subscription's version, projected on the cart as that version shows it. */
  fields: string[][] | undefined;
  /** The version whose shape the events take (v5: toV5Event). */
  apiVersion: ApiVersionName;
}

/**
 * Parses a subscription query; throws a 400 naming the part it cannot understand. A v5 query
 * names v5 paths (event.shoppingCart.relatedParty.partyOrPartyRole.id), translated for the
 * filter as a v5 list query's are.
 */
export function parseSubscriptionQuery(query: string, apiVersion: ApiVersionName = 'v4'): SubscriptionQuery {
  // As long as a list query may be (a hub body could otherwise carry a megabyte of it).
  if (query.length > maxQueryLength) {
    throw invalidSubscriptionQuery(`the query is longer than ${maxQueryLength} characters`);
  }
  let types: Set<EventType> | undefined;
  let fields: string[][] | undefined;
  const pairs: [string, string][] = [];
  for (const part of query.split('&')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw invalidSubscriptionQuery(`"${part}" is not key=value`);
    let key: string;
    let value: string;
    try {
      key = decodeURIComponent(part.slice(0, eq)).trim();
      value = decodeURIComponent(part.slice(eq + 1)).trim();
    } catch {
      throw invalidSubscriptionQuery(`"${part}" is not valid percent-encoding`);
    }
    if (key === 'eventType') {
      const names = value.split(',').map((v) => v.trim());
      for (const n of names) {
        if (!(eventTypes as readonly string[]).includes(n)) {
          throw invalidSubscriptionQuery(
            `unknown eventType "${n}"; TMF663 (v4 and v5) has ${eventTypes.join(', ')}`,
          );
        }
      }
      types = new Set([...(types ?? []), ...(names as EventType[])]);
    } else if (key === 'fields') {
      fields = value.split(',').map((f) => {
        const path = f.trim();
        if (!path.startsWith(payloadPrefix)) {
          throw invalidSubscriptionQuery(`fields must name ${payloadPrefix}<path>, got "${path}"`);
        }
        return path.slice(payloadPrefix.length).split('.');
      });
    } else if (key.startsWith(payloadPrefix) && key.length > payloadPrefix.length) {
      pairs.push([key.slice(payloadPrefix.length), value]);
    } else {
      throw invalidSubscriptionQuery(`"${key}" is not eventType, fields or ${payloadPrefix}<path>`);
    }
  }
  const parsed = parseFilterPairs(pairs);
  const filter =
    apiVersion === 'v4'
      ? parsed
      : toCanonicalListQuery({ filter: parsed, fields: undefined, sort: [], offset: 0, limit: 0 }).filter;
  // Routing reads the event's cart, not the store's times of it.
  if (filter.conditions.some((c) => c.metadata !== undefined)) {
    throw invalidSubscriptionQuery("creationDate and lastUpdate (the store's times) cannot filter events");
  }
  return {
    eventTypes: types,
    filter,
    fields,
    apiVersion,
  };
}

/**
 * Whether an event is for this subscription (undefined when not), and what to send it
 * (shapeOfBody). The body is read (`body()`) only when a payload filter, `fields` or the version
 * needs it, so a store can hand over recorded text unparsed.
 */
export function shapeForSubscription(
  query: SubscriptionQuery,
  eventType: string,
  body: () => Record<string, unknown>,
  cartTimes?: CartTimes,
): { body?: Record<string, unknown> } | undefined {
  if (query.eventTypes && !query.eventTypes.has(eventType as EventType)) return undefined;
  let read: Record<string, unknown> | undefined;
  const once = (): Record<string, unknown> => (read ??= body());
  if (query.filter.conditions.length > 0) {
    const cart = (once().event as { shoppingCart?: ShoppingCart } | undefined)?.shoppingCart;
    if (cart === undefined || !matchesFilter(query.filter, cart)) return undefined;
  }
  return shapeOfBody(query, once, cartTimes);
}

/**
 * What a subscription is sent of an event that is for it (also when its filter could not be
 * decided and it gets the event anyway): `{}` for the event as recorded, `{ body }` when `fields`
 * narrows it or the subscription is on v5 (the event in v5's shape: toV5Event, with the cart's
 * times recorded with the event when there are any).
 */
export function shapeOfBody(
  query: SubscriptionQuery,
  body: () => Record<string, unknown>,
  cartTimes?: CartTimes,
): { body?: Record<string, unknown> } {
  if (query.apiVersion === 'v4') {
    if (query.fields === undefined) return {};
    const whole = body();
    const cart = (whole.event as { shoppingCart?: ShoppingCart } | undefined)?.shoppingCart;
    if (cart === undefined) return {};
    return { body: { ...whole, event: { shoppingCart: projectFields(cart, query.fields) } } };
  }
  const event = toV5Event(body(), cartTimes);
  const view = (event.event as { shoppingCart?: object } | undefined)?.shoppingCart;
  if (query.fields === undefined || view === undefined) return { body: event };
  return { body: { ...event, event: { shoppingCart: projectV5(view, query.fields) } } };
}
