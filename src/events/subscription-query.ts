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
import { eventTypes, type EventType } from './build-event.js';

const payloadPrefix = 'event.shoppingCart.';

export interface SubscriptionQuery {
  eventTypes: Set<EventType> | undefined;
  filter: Filter;
  fields: string[][] | undefined;
}

/** Parses a subscription query; throws a 400 naming the part it cannot understand. */
export function parseSubscriptionQuery(query: string): SubscriptionQuery {
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
          throw invalidSubscriptionQuery(`unknown eventType "${n}"; v4 has ${eventTypes.join(', ')}`);
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
  return { eventTypes: types, filter: parseFilterPairs(pairs), fields };
}

/**
 * Whether an event is for this subscription (undefined when not), and what to send it: `{}` for
 * the event as recorded, `{ body }` when `fields` narrows it. The body is read (`body()`) only
 * when a payload filter or `fields` needs it, so a store can hand over recorded text unparsed.
 */
export function shapeForSubscription(
  query: SubscriptionQuery,
  eventType: string,
  body: () => Record<string, unknown>,
): { body?: Record<string, unknown> } | undefined {
  if (query.eventTypes && !query.eventTypes.has(eventType as EventType)) return undefined;
  if (query.filter.conditions.length === 0 && query.fields === undefined) return {};
  const whole = body();
  const cart = (whole.event as { shoppingCart?: ShoppingCart } | undefined)?.shoppingCart;
  if (query.filter.conditions.length > 0 && (cart === undefined || !matchesFilter(query.filter, cart)))
    return undefined;
  if (query.fields === undefined || cart === undefined) return {};
  return { body: { ...whole, event: { shoppingCart: projectFields(cart, query.fields) } } };
}
