/**
 * Prototype-polluting member names (`__proto__`, `constructor`, `prototype`) are refused in every
 * request body, at any depth, and in every JSON Patch path and from: a client never gets one
 * stored, echoed or sent on in an event, and no code ever reads or writes through one.
 */
import { forbiddenAttributeName } from './errors.js';

export const forbiddenKeys: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** Throws a 400 naming the first forbidden key found anywhere in a parsed JSON value. */
export function assertNoForbiddenKeys(value: unknown, at = ''): void {
  // An explicit stack: a body is already depth-limited, but nothing here needs recursion.
  const stack: [unknown, string][] = [[value, at]];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const [v, where] = next;
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${where}[${i}]`]);
    } else if (v !== null && typeof v === 'object') {
      for (const k of Object.keys(v)) {
        if (forbiddenKeys.has(k))
          throw forbiddenAttributeName(`"${k}" is not allowed (at ${where || 'top level'})`);
        stack.push([(v as Record<string, unknown>)[k], where ? `${where}.${k}` : k]);
      }
    }
  }
}
