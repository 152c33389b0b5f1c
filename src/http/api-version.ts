/**
 * One served API version: the document its spec module loaded (src/spec/), and a handler for
 * every operation of that document, keyed by operationId and typed from the generated
 * `operations` (request body, path parameters, success bodies), so a handler reads
 * `req.body` as what the validator in front of it has already checked, without a cast.
 * mount-api.ts turns a descriptor into the Router served at its base path; served-apis.ts lists
 * the versions served.
 *
 * Serving another version (TMF663 v5 beside v4) takes three steps:
 *  1. src/spec/v5.ts loads its document and route table (it exists; the build copies every generated document);
 *  2. a descriptor `v5Api: ApiVersion<v5 operations>` whose handlers map v5 bodies through
 *     src/versions/v5/ onto the same cart service (the compiler names any operation left out);
 *  3. `serve(v5Api)` added to `servedApis` in served-apis.ts: its 404/405 table, Allow headers,
 *     metric route templates, scopes and start-up URL follow from its document.
 */
import type { Request, Response } from 'express';
import type { CartService } from '../cart/cart-service.js';
import type { SubscriptionService } from '../hub/subscription-service.js';
import type { ApiSpec } from '../spec/document.js';
import type { ApiVersionName } from '../store/store.js';

/** The media types of a request body or response, as one union (undefined where there is none). */
type Content<T> = T extends { content: infer C } ? C[keyof C] : undefined;

/** The body an operation takes; `undefined` for one that takes none. */
export type RequestBody<Op> = Op extends { requestBody: infer B }
  ? Content<B>
  : Op extends { requestBody?: infer B }
    ? Content<Exclude<B, undefined>> | undefined
    : undefined;

/** The path parameters of an operation (`{ id: string }`), none for the rest. */
export type PathParams<Op> = Op extends { parameters: { path: infer P } } ? P : Record<string, never>;

type SuccessStatus = 200 | 201 | 202 | 203 | 204 | 206;

/** What an operation answers with a 2xx (undefined: no body); errors go through the one error handler. */
export type ResponseBody<Op> = Op extends { responses: infer R }
  ? { [S in keyof R]: S extends SuccessStatus ? Content<R[S]> : never }[keyof R]
  : never;

export type OperationId<Ops> = Extract<keyof Ops, string>;

/** The handler of operation K of a version whose generated operations are Ops. */
export type Handler<Ops, K extends keyof Ops> = (
  req: Request<PathParams<Ops[K]>, ResponseBody<Ops[K]>, RequestBody<Ops[K]>>,
  res: Response<ResponseBody<Ops[K]>>,
) => Promise<void> | void;

/** One handler per operation of the document: leaving one out is a type error. */
export type Handlers<Ops> = { [K in OperationId<Ops>]: Handler<Ops, K> };

/** What handlers are built from (per app), for a version whose generated operations are Ops. */
export interface HandlerContext<Ops> {
  carts: CartService;
  subscriptions: SubscriptionService;
  maxPageSize: number;
  /** The version's absolute base URL: PUBLIC_BASE_URL when set, else the request's protocol and host. */
  apiUrl(req: Request): string;
  /** The path of one of the version's operations, from its route table (`/shoppingCart`). */
  pathOf(operationId: OperationId<Ops>): string;
}

export interface ApiVersion<Ops> {
  /** Which version: the subscriptions made on it record it, and its Idempotency-Keys name it. */
  name: ApiVersionName;
  spec: ApiSpec;
  /** The entry point's name. */
  title: string;
  /** The media type of its JSON answers, errors included. */
  jsonType: string;
  handlers(context: HandlerContext<Ops>): Handlers<Ops>;
}
