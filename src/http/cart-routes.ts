/**
 * The ShoppingCart resource over HTTP: representation (href, Location, ETag, paging headers,
 * fields) around the cart service. Validation of shapes already happened in front (the
 * OpenAPI validator); errors are thrown and mapped by the one error handler.
 */
import { Router, type Request, type Response } from 'express';
import type { ShoppingCartCreate } from '../api-types.js';
import { accessPolicyFor } from '../cart/access-policy.js';
import type { CartService, RequestContext } from '../cart/cart-service.js';
import { patchMediaType } from '../cart/patch.js';
import { preconditionFailed } from '../errors.js';
import { projectFields } from '../query/evaluate.js';
import { parseListQuery } from '../query/parse.js';
import type { StoredCart } from '../store/store.js';
import { principalOf } from './auth.js';
import { jsonType } from './errors.js';

export const basePath = '/tmf-api/shoppingCart/v4';

/** The API's absolute base URL: PUBLIC_BASE_URL when set, else the request's protocol and host. */
export const apiBaseUrl = (req: Request, publicBaseUrl: string | undefined): string =>
  `${publicBaseUrl ?? `${req.protocol}://${req.get('host') ?? 'localhost'}`}${basePath}`;

export interface CartRoutesOptions {
  publicBaseUrl: string | undefined;
  maxPageSize: number;
}

const rawQuery = (req: Request): string => {
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
function ifMatchVersion(req: Request, current: () => Promise<StoredCart>): Promise<number | undefined> {
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
const context = (req: Request): Required<RequestContext> => ({
  correlationId: req.get('X-Correlation-ID'),
  access: accessPolicyFor(principalOf(req)?.owner),
});

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

export function cartRoutes(service: CartService, options: CartRoutesOptions): Router {
  const router = Router();
  const hrefBase = (req: Request): string => `${apiBaseUrl(req, options.publicBaseUrl)}/shoppingCart/`;

  const sendCart = (req: Request, res: Response, status: number, cart: StoredCart): void => {
    res.setHeader('ETag', etagOf(cart));
    sendJsonText(req, res, status, cart.json ?? JSON.stringify(cart.doc));
  };

  router.post('/shoppingCart', async (req, res) => {
    const base = hrefBase(req);
    const cart = await service.create(
      (req.body ?? {}) as ShoppingCartCreate,
      (id) => base + id,
      context(req),
    );
    res.location(cart.doc.href ?? `${base}${cart.doc.id ?? ''}`);
    sendCart(req, res, 201, cart);
  });

  router.get('/shoppingCart', async (req, res) => {
    const query = parseListQuery(rawQuery(req), { maxPageSize: options.maxPageSize });
    const result = await service.list(query, context(req).access);
    const { total, json } = result;
    const items = json ?? result.items;
    // 200 only when the body holds every match (TMF630); the CTK requires 200 for an unpaged list.
    const status = items.length < total ? 206 : 200;
    res.setHeader('X-Total-Count', String(total));
    res.setHeader('X-Result-Count', String(items.length));
    if (json) sendJsonText(req, res, status, `[${json.join(',')}]`);
    else res.status(status).json(items);
  });

  router.get('/shoppingCart/:id', async (req, res) => {
    const cart = await service.get(req.params.id, context(req).access);
    const tags = parseEntityTags(req.get('If-None-Match'));
    if (tags === '*' || tags?.includes(cart.version)) {
      res.status(304).set('ETag', etagOf(cart)).end();
      return;
    }
    const { fields } = parseListQuery(rawQuery(req), { maxPageSize: options.maxPageSize });
    if (fields === undefined) {
      sendCart(req, res, 200, cart);
      return;
    }
    res.status(200).set('Content-Type', jsonType).json(projectFields(cart.doc, fields));
  });

  router.patch('/shoppingCart/:id', async (req, res) => {
    const mediaType = patchMediaType(req.get('Content-Type'));
    const id = req.params.id;
    const ctx = context(req);
    const ifMatch = await ifMatchVersion(req, () => service.get(id, ctx.access));
    const cart = await service.patch(id, mediaType, req.body, ifMatch, ctx);
    sendCart(req, res, 200, cart);
  });

  router.delete('/shoppingCart/:id', async (req, res) => {
    const id = req.params.id;
    const ctx = context(req);
    const ifMatch = await ifMatchVersion(req, () => service.get(id, ctx.access));
    await service.remove(id, ifMatch, ctx);
    res.status(204).end();
  });

  return router;
}
