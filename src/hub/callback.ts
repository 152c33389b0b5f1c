/**
 * What a subscriber may register as its callback: an absolute http or https URL, checked when it
 * subscribes. Where a notification may go (NOTIFY_DENY_PRIVATE) is checked at each delivery
 * instead, because what a host name resolves to can change after it subscribed:
 * src/events/public-address.ts.
 */
import { invalidCallback } from '../errors.js';

/** Throws a 400 unless `callback` is an absolute http or https URL. */
export function assertCallback(callback: string): void {
  let url: URL;
  try {
    url = new URL(callback);
  } catch {
    throw invalidCallback('is not an absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalidCallback(`must be an http or https URL, not ${url.protocol}`);
  }
}
