/**
 * The events module's types. An event is built by build-event.ts and recorded by the store in the
 * same write as the cart change: the store owns that record's shape (OutboxRecord in
 * src/store/store.ts, since the store may not import this module), and an outbox event is exactly
 * such a record.
 */
import type { OutboxRecord } from '../store/store.js';

/** A notification waiting in the transactional outbox: its id, cart, type and full envelope. */
export type OutboxEvent = OutboxRecord;
