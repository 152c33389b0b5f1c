/**
 * The ShoppingCart operations of v4, by operationId: representation (href, Location, ETag, paging
 * headers, fields) around the cart service. Validation of shapes already happened in front (the
 * OpenAPI validator); errors are thrown and mapped by the one error handler.
 */
import type { Request, Response } from 'express';
import { accessPolicyFor } from '../cart/access-policy.js';
import type { CartService, RequestContext } from '../cart/cart-service.js';
import { patchMediaType } from '../cart/patch.js';
import { preconditionFailed } from '../errors.js';
import { projectFields } from '../query/evaluate.js';
import { parseListQuery } from '../query/parse.js';
import type { operations } from '../spec/v4.js';
import type { StoredCart } from '../store/store.js';
import type { Handler, HandlerContext, Handlers } from './api-version.js';
import { principalOf } from './auth.js';
import { jsonType } from './errors.js';

/** The ShoppingCart operations, alike by name on every version. */
export type CartOperations =
  | 'createShoppingCart'
  | 'listShoppingCart'
  | 'retrieveShoppingCart'
  | 'patchShoppingCart'
  | 'deleteShoppingCart';

export const rawQuery = (req: Request): string => {
  const q = req.originalUrl.indexOf('?');
  return q < 0 ? '' : req.originalUrl.slice(q + 1);
};

export const etagOf = (cart: StoredCart): string => `"${cart.version}"`;

/**
 * Parses If-Match / If-None-Match into the versions it names; `*` is any version. A tag we
 * never issued (weak, malformed) matches nothing, so the precondition fails safely.
 */
export function parseEntityTags(header: string | undefined): number[] | '*' | undefined {
  if (header === undefined || header.trim() === '') return undefined;
  if (header.trim() === '*') return '*';
  return header
    .split(',')
    .map((t) => /^"(\d+)"$/.exec(t.trim())?.[1])
    .filter((v): v is string => v !== undefined)
    .map(Number);
}

/** If-Match as the one version the write is conditional on (or undefined for none / `*`). */
export function ifMatchVersion(
  req: Request,
  current: () => Promise<StoredCart>,
): Promise<number | undefined> {
  const tags = parseEntityTags(req.get('If-Match'));
  if (tags === undefined || tags === '*') return Promise.resolve(undefined);
  if (tags.length === 0) {
    return Promise.reject(preconditionFailed());
  }
  if (tags.length === 1) return Promise.resolve(tags[0]);
  // Several tags: the write is conditional on whichever of them is current.
  return current().then((c) => (tags.includes(c.version) ? c.version : -1));
}

/** Who asks: the correlation id for events, and the carts the caller may see and change. */
export const context = (req: Request): Required<RequestContext> => ({
  correlationId: req.get('X-Correlation-ID'),
  access: accessPolicyFor(principalOf(req)?.owner),
});

/** Answers 304 when If-None-Match names the cart's current version (or is `*`); true when it did. */
export function notModified(req: Request, res: Response, cart: StoredCart): boolean {
  const tags = parseEntityTags(req.get('If-None-Match'));
  if (tags !== '*' && tags?.includes(cart.version) !== true) return false;
  res.status(304).set('ETag', etagOf(cart)).end();
  return true;
}

/** A write to the cart the request names: its id, who asks, and the version If-Match makes it conditional on. */
export async function cartWrite(
  service: CartService,
  req: Request<{ id: string }>,
): Promise<{ id: string; ctx: Required<RequestContext>; ifMatch: number | undefined }> {
  const id = req.params.id;
  const ctx = context(req);
  return { id, ctx, ifMatch: await ifMatchVersion(req, () => service.get(id, ctx.access)) };
}

/** DELETE /shoppingCart/{id}, alike on every version: 204, or 412 when If-Match names another version. */
export async function deleteCart(
  service: CartService,
  req: Request<{ id: string }>,
  res: Response,
): Promise<void> {
  const { id, ctx, ifMatch } = await cartWrite(service, req);
  await service.remove(id, ifMatch, ctx);
  res.status(204).end();
}

/**
 * The paging headers of a list, and its status: 200 only when the body holds every match
 * (TMF630; the CTK requires 200 for an unpaged list), else 206.
 */
export function pageStatus(res: Response, total: number, count: number): 200 | 206 {
  res.setHeader('X-Total-Count', String(total));
  res.setHeader('X-Result-Count', String(count));
  return count < total ? 206 : 200;
}

/** The app setting that turns response validation on (tests); app.ts sets it. */
export const validateResponsesSetting = 'tmf663 validate responses';

/**
 * Sends JSON that is already text (a stored document, as it is) without parsing and
 * re-serialising it. When responses are validated, it goes through res.json as an object so the
 * validator sees it; the bytes are the same either way (they were made by JSON.stringify).
 */
function sendJsonText(req: Request, res: Response, status: number, text: string): void {
  res.status(status);
  if (req.app.get(validateResponsesSetting) === true) {
    res.json(JSON.parse(text));
    return;
  }
  res.setHeader('Content-Type', jsonType);
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

export function cartHandlers(
  options: HandlerContext<operations>,
): Pick<Handlers<operations>, CartOperations> {
  const service = options.carts;
  const cartsPath = options.pathOf('createShoppingCart');
  const hrefBase = (req: Request): string => `${options.apiUrl(req)}${cartsPath}/`;

  const sendCart = (req: Request, res: Response, status: number, cart: StoredCart): void => {
    res.setHeader('ETag', etagOf(cart));
    sendJsonText(req, res, status, cart.json ?? JSON.stringify(cart.doc));
  };

  const createShoppingCart: Handler<operations, 'createShoppingCart'> = async (req, res) => {
    const base = hrefBase(req);
    const cart = await service.create(req.body, (id) => base + id, context(req));
    res.location(cart.doc.href ?? `${base}${cart.doc.id ?? ''}`);
    sendCart(req, res, 201, cart);
  };

  const listShoppingCart: Handler<operations, 'listShoppingCart'> = async (req, res) => {
    const query = parseListQuery(rawQuery(req), { maxPageSize: options.maxPageSize });
    const result = await service.list(query, context(req).access);
    const { total, json } = result;
    const status = pageStatus(res, total, (json ?? result.items).length);
    if (json) sendJsonText(req, res, status, `[${json.join(',')}]`);
    else res.status(status).json(result.items);
  };

  const retrieveShoppingCart: Handler<operations, 'retrieveShoppingCart'> = async (req, res) => {
    const cart = await service.get(req.params.id, context(req).access);
    if (notModified(req, res, cart)) return;
    const { fields } = parseListQuery(rawQuery(req), { maxPageSize: options.maxPageSize });
    if (fields === undefined) {
      sendCart(req, res, 200, cart);
      return;
    }
    res.status(200).set('Content-Type', jsonType).json(projectFields(cart.doc, fields));
  };

  const patchShoppingCart: Handler<operations, 'patchShoppingCart'> = async (req, res) => {
    const mediaType = patchMediaType(req.get('Content-Type'));
    const { id, ctx, ifMatch } = await cartWrite(service, req);
    const cart = await service.patch(id, mediaType, req.body, ifMatch, ctx);
    sendCart(req, res, 200, cart);
  };

  const deleteShoppingCart: Handler<operations, 'deleteShoppingCart'> = (req, res) =>
    deleteCart(service, req, res);

  return {
    createShoppingCart,
    listShoppingCart,
    retrieveShoppingCart,
    patchShoppingCart,
    deleteShoppingCart,
  };
}
