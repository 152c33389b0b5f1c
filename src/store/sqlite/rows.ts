/** SQLite rows and what the store makes of them: documents and bodies parsed only when read. */
import type { ShoppingCart } from '../../api-types.js';
import type { Delivery, StoredCart } from '../store.js';

export interface CartRow {
  id: string;
  doc: string;
  version: number;
  created_at: string;
  updated_at: string;
}

export interface DeliveryRow {
  seq: number;
  event_id: string;
  subscription_id: string;
  cart_id: string;
  event_type: string;
  body: string;
  attempts: number;
  next_attempt_at: number;
  event_time?: string | null;
}

/** A JSON text, parsed on the first call only. */
export const parsedOnce = (text: string): (() => unknown) => {
  let value: unknown;
  return () => (value ??= JSON.parse(text) as unknown);
};

/** A stored cart whose document is parsed only if someone reads it (a GET just sends the text). */
export function storedCart(
  json: string,
  version: number,
  createdAt: string,
  updatedAt: string,
  doc?: ShoppingCart,
): StoredCart {
  const read = doc ? () => doc : parsedOnce(json);
  return {
    json,
    version,
    createdAt,
    updatedAt,
    get doc(): ShoppingCart {
      return read() as ShoppingCart;
    },
  };
}

export const toStored = (row: CartRow): StoredCart =>
  storedCart(row.doc, row.version, row.created_at, row.updated_at);

/** A delivery whose body is parsed only if someone reads it (the dispatcher sends the text). */
export const toDelivery = (row: DeliveryRow): Delivery => {
  const body = parsedOnce(row.body);
  return {
    eventId: row.event_id,
    subscriptionId: row.subscription_id,
    cartId: row.cart_id,
    seq: row.seq,
    eventType: row.event_type,
    ...(row.event_time ? { eventTime: row.event_time } : {}),
    json: row.body,
    get body(): Record<string, unknown> {
      return body() as Record<string, unknown>;
    },
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
  };
};

/**
 * The `eventTime` of a recorded event's text without parsing it: the envelope (buildEvent) has it
 * as its second member, so it is found within the first few dozen characters.
 */
export function eventTimeOf(json: string): string | undefined {
  const key = '"eventTime":"';
  const at = json.indexOf(key);
  if (at < 0 || at > 200) return undefined;
  const end = json.indexOf('"', at + key.length);
  return end < 0 ? undefined : json.slice(at + key.length, end);
}
