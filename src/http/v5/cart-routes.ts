/**
 * The ShoppingCart operations of v5, by operationId: the same cart service as v4, each answer the
 * v5 view of the stored cart (src/versions/v5/, docs/v5-mapping.md) and each write mapped back
 * into the stored form before the service sees it. ETags are the one stored version, so If-Match
 * and If-None-Match hold across versions. `fields` applies to the v5 view, on POST and PATCH too.
 */
import type { Request, Response } from 'express';
import { patchMediaType } from '../../cart/patch.js';
import { parseListQuery } from '../../query/parse.js';
import type { operations } from '../../spec/v5.js';
import type { StoredCart } from '../../store/store.js';
import { applyV5Patch, createInputFromV5 } from '../../versions/v5/cart-input.js';
import { hrefOnVersion, projectV5, toV5Cart, type CartMeta } from '../../versions/v5/cart-view.js';
import { toCanonicalListQuery } from '../../versions/v5/paths.js';
import type { V5ShoppingCart } from '../../versions/v5/api-types.js';
import type { Handler, HandlerContext, Handlers } from '../api-version.js';
import {
  cartWrite,
  context,
  deleteCart,
  etagOf,
  notModified,
  pageStatus,
  rawQuery,
  type CartOperations,
} from '../cart-routes.js';

type Fields = string[][] | undefined;

/** The v5 view of a cart, narrowed to `fields` (v5 paths) when there are any. */
export function v5View(doc: StoredCart['doc'], times: CartMeta, fields: Fields): V5ShoppingCart {
  const view = toV5Cart(doc, times);
  return fields === undefined ? view : projectV5(view, fields);
}

export function v5CartHandlers(
  options: HandlerContext<operations>,
): Pick<Handlers<operations>, CartOperations> {
  const service = options.carts;
  const cartsPath = options.pathOf('createShoppingCart');
  /** `fields` of the request (parsed as a list query's, the one TMF630 grammar). */
  const fieldsOf = (req: Request): Fields =>
    parseListQuery(rawQuery(req), { maxPageSize: options.maxPageSize }).fields;

  const sendCart = (res: Response, status: number, cart: StoredCart, fields: Fields): void => {
    res.setHeader('ETag', etagOf(cart));
    res.status(status).json(v5View(cart.doc, cart, fields));
  };

  const createShoppingCart: Handler<operations, 'createShoppingCart'> = async (req, res) => {
    const fields = fieldsOf(req);
    const input = createInputFromV5(req.body);
    // Stored with the v4 href (the stored form is v4's); the v5 view shows the v5 one.
    const v5Base = `${options.apiUrl(req)}${cartsPath}/`;
    const cart = await service.create(
      input,
      (id) => String(hrefOnVersion(v5Base + id, 'v5', 'v4')),
      context(req),
    );
    res.location(String(toV5Cart(cart.doc, cart).href));
    sendCart(res, 201, cart, fields);
  };

  const listShoppingCart: Handler<operations, 'listShoppingCart'> = async (req, res) => {
    const query = parseListQuery(rawQuery(req), { maxPageSize: options.maxPageSize });
    const result = await service.list(toCanonicalListQuery(query), context(req).access);
    const items = result.items.map((doc, i) => v5View(doc, result.times?.[i] ?? {}, query.fields));
    res.status(pageStatus(res, result.total, items.length)).json(items);
  };

  const retrieveShoppingCart: Handler<operations, 'retrieveShoppingCart'> = async (req, res) => {
    const cart = await service.get(req.params.id, context(req).access);
    if (notModified(req, res, cart)) return;
    sendCart(res, 200, cart, fieldsOf(req));
  };

  const patchShoppingCart: Handler<operations, 'patchShoppingCart'> = async (req, res) => {
    const fields = fieldsOf(req);
    const mediaType = patchMediaType(req.get('Content-Type'));
    const { id, ctx, ifMatch } = await cartWrite(service, req);
    const body: unknown = req.body;
    const apply = (current: StoredCart) => applyV5Patch(current.doc, current, mediaType, body);
    sendCart(res, 200, await service.patchWith(id, apply, ifMatch, ctx), fields);
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
