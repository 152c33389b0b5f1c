// src/events/subscription-query.ts: which hub `query` strings are understood and how, and which
// events a parsed query lets through with which payload.
import { expect } from 'chai';
import {
  parseSubscriptionQuery,
  shapeForSubscription,
  shapeOfBody,
} from '../../src/events/subscription-query.js';
import { maxQueryLength } from '../../src/query/terms.js';
import { appErrorOf } from '../support/app-error.js';

const create = 'ShoppingCartCreateEvent';
const change = 'ShoppingCartAttributeValueChangeEvent';
const remove = 'ShoppingCartDeleteEvent';

/** The message of the 400 `query` is refused with (the test fails when it is accepted). */
function refusal(query: string): string {
  const error = appErrorOf(() => parseSubscriptionQuery(query));
  expect([error.code, error.reason]).to.deep.equal(['BAD_REQUEST', 'Invalid subscription query']);
  return error.message;
}

describe('events/subscription-query: parsing', () => {
  const understood: [string, string[] | undefined, number, string[][] | undefined][] = [
    // query, event types, payload conditions, fields
    ['', undefined, 0, undefined],
    ['&&', undefined, 0, undefined],
    [`eventType=${create}`, [create], 0, undefined],
    [`eventType=${create}, ${remove}`, [create, remove], 0, undefined],
    [`eventType=${create}&eventType=${change}`, [create, change], 0, undefined],
    [`event%54ype=${encodeURIComponent(` ${create}`)}`, [create], 0, undefined], // decoded and trimmed
    ['event.shoppingCart.cartItem.quantity=2', undefined, 1, undefined],
    ['event.shoppingCart.note=a&event.shoppingCart.name=b', undefined, 2, undefined],
    [
      'fields=event.shoppingCart.id,event.shoppingCart.cartItem.quantity',
      undefined,
      0,
      [['id'], ['cartItem', 'quantity']],
    ],
  ];
  for (const [query, types, conditions, fields] of understood) {
    it(`understands "${query}"`, () => {
      const parsed = parseSubscriptionQuery(query);
      expect(parsed.eventTypes === undefined ? undefined : [...parsed.eventTypes]).to.deep.equal(types);
      expect(parsed.filter.conditions).to.have.length(conditions);
      expect(parsed.fields).to.deep.equal(fields);
    });
  }

  const refused: [string, string][] = [
    [
      'eventType=ShoppingCartUpdateEvent',
      'unknown eventType "ShoppingCartUpdateEvent"; TMF663 (v4 and v5) has',
    ],
    ['justText', '"justText" is not key=value'],
    ['=value', '"=value" is not key=value'],
    ['note=%E0%A4%A', '"note=%E0%A4%A" is not valid percent-encoding'],
    ['note=a', '"note" is not eventType, fields or event.shoppingCart.<path>'],
    ['event.shoppingCart.=a', '"event.shoppingCart." is not eventType, fields or'],
    ['fields=id', 'fields must name event.shoppingCart.<path>, got "id"'],
    [
      `event.shoppingCart.note=${'x'.repeat(maxQueryLength)}`,
      `the query is longer than ${maxQueryLength} characters`,
    ],
  ];
  for (const [query, message] of refused) {
    it(`refuses "${query.slice(0, 60)}" with a 400 naming the part`, () => {
      expect(refusal(query)).to.contain(message);
    });
  }
});

describe('events/subscription-query: which events go out, with what', () => {
  const cart = { id: 'c1', href: '/c1', note: 'gift', cartItem: [{ id: '1', quantity: 2 }] };
  const event = { eventId: 'e1', eventType: create, event: { shoppingCart: cart } };
  /** The event body, counting how often it was read. */
  const reader = () => {
    const read = { count: 0 };
    return { read, body: () => (read.count++, structuredClone(event)) };
  };

  const cases: [string, string, ReturnType<typeof shapeForSubscription>, number][] = [
    // query, event type, outcome, body reads
    ['', create, {}, 0],
    [`eventType=${create}`, create, {}, 0],
    [`eventType=${create}`, remove, undefined, 0],
    ['event.shoppingCart.note=gift', create, {}, 1],
    ['event.shoppingCart.note=other', create, undefined, 1],
    ['event.shoppingCart.cartItem.quantity=1,2', create, {}, 1],
    [`eventType=${remove}&event.shoppingCart.note=gift`, create, undefined, 0],
    [
      'fields=event.shoppingCart.note',
      create,
      { body: { ...event, event: { shoppingCart: { id: 'c1', href: '/c1', note: 'gift' } } } },
      1,
    ],
    [
      'event.shoppingCart.note=gift&fields=event.shoppingCart.cartItem.quantity',
      create,
      { body: { ...event, event: { shoppingCart: { id: 'c1', href: '/c1', cartItem: [{ quantity: 2 }] } } } },
      1,
    ],
  ];
  for (const [query, type, outcome, reads] of cases) {
    it(`"${query}" and a ${type}: ${outcome === undefined ? 'not sent' : 'body' in outcome ? 'narrowed' : 'sent as recorded'}`, () => {
      const { read, body } = reader();
      expect(shapeForSubscription(parseSubscriptionQuery(query), type, body)).to.deep.equal(outcome);
      expect(read.count, 'body reads').to.equal(reads);
    });
  }

  it('does not match a payload filter on an event without a cart', () => {
    const parsed = parseSubscriptionQuery('event.shoppingCart.note=gift');
    expect(shapeForSubscription(parsed, create, () => ({ event: {} }))).to.equal(undefined);
    expect(
      shapeForSubscription(parseSubscriptionQuery('fields=event.shoppingCart.id'), create, () => ({})),
    ).to.deep.equal({});
  });
});

describe('events/subscription-query: v5 subscriptions', () => {
  const cart = {
    id: 'c1',
    href: 'http://h/tmf-api/shoppingCart/v4/shoppingCart/c1',
    '@type': 'ShoppingCart',
    relatedParty: [{ id: 'p1', role: 'customer', '@referredType': 'Individual' }],
    cartItem: [{ id: '1', quantity: 2 }],
  };
  const event = {
    eventId: 'e1',
    eventTime: '2026-01-02T03:04:05.000Z',
    eventType: change,
    timeOcurred: '2026-01-02T03:04:05.000Z',
    event: { shoppingCart: cart },
  };
  const shape = (query: string) =>
    shapeForSubscription(parseSubscriptionQuery(query, 'v5'), change, () => event);

  it('filters with v5 paths, translated to the stored ones', () => {
    expect(
      parseSubscriptionQuery('event.shoppingCart.relatedParty.partyOrPartyRole.id=p1', 'v5').filter,
    ).to.deep.equal(parseSubscriptionQuery('event.shoppingCart.relatedParty.id=p1').filter);
    expect(shape('event.shoppingCart.relatedParty.partyOrPartyRole.id=p2')).to.equal(undefined);
    expect(shape(`eventType=${create}`)).to.equal(undefined);
  });

  it("sends every event in v5's shape: @type, timeOccurred, the cart's v5 view", () => {
    const body = shape('event.shoppingCart.relatedParty.partyOrPartyRole.id=p1')?.body;
    expect(body).to.include({ '@type': change, timeOccurred: event.timeOcurred });
    expect(body).not.to.have.property('timeOcurred');
    const view = (body?.event as { shoppingCart: Record<string, any> }).shoppingCart;
    expect(view.href).to.equal('http://h/tmf-api/shoppingCart/v5/shoppingCart/c1');
    expect(view.relatedParty[0].partyOrPartyRole).to.deep.equal({
      '@type': 'PartyRef',
      id: 'p1',
      '@referredType': 'Individual',
    });
    expect(view.lastUpdate).to.equal(event.eventTime);
  });

  it('narrows with v5 fields, keeping the @type of what it keeps', () => {
    const body = shape('fields=event.shoppingCart.relatedParty.partyOrPartyRole.id')?.body;
    expect((body?.event as { shoppingCart: unknown }).shoppingCart).to.deep.equal({
      '@type': 'ShoppingCart',
      id: 'c1',
      href: 'http://h/tmf-api/shoppingCart/v5/shoppingCart/c1',
      relatedParty: [
        { '@type': 'RelatedPartyOrPartyRole', partyOrPartyRole: { '@type': 'PartyRef', id: 'p1' } },
      ],
    });
  });

  it('an event sent unfiltered (its filter undecided) still takes the subscription’s shape', () => {
    const v5 = shapeOfBody(parseSubscriptionQuery('event.shoppingCart.id=c1', 'v5'), () => event).body;
    expect(v5).to.include({ '@type': change, timeOccurred: event.timeOcurred });
    expect(shapeOfBody(parseSubscriptionQuery('event.shoppingCart.id=c1'), () => event)).to.deep.equal({});
  });

  it('refuses a v5 query on the metadata (not a stored attribute)', () => {
    const error = appErrorOf(() =>
      parseSubscriptionQuery('event.shoppingCart.lastUpdate.gt=2026-01-01T00:00:00Z', 'v5'),
    );
    expect(error.code).to.equal('BAD_REQUEST');
  });
});
