/**
 * A shared table of TMF630 queries over a shared set of carts. Every store adapter must keep (and
 * order) exactly what the reference evaluator (src/query/evaluate.ts) keeps for each case; the
 * unit test test/unit/query-sql.test.ts checks the SQLite compiler against it, and the store
 * contract suite can load the same carts and run the same queries through the API of a store.
 *
 * The carts mix: relatedParty and cartItem arrays, nested cartItem, numbers, booleans, date-times
 * with different offsets (f01, f02 and f03 end at the same instant), @type/@baseType, extension
 * attributes of every JSON type at the top level and inside arrays (productCharacteristic.value
 * is `Any`), unicode beyond the BMP, and carts missing most attributes.
 */
import type { CartItem, RelatedParty, ShoppingCart } from '../../src/api-types.js';
import type { RecordTimes } from '../../src/query/ast.js';

const base = 'http://h/tmf-api/shoppingCart/v4/shoppingCart/';

/** A cart with extension attributes (TMF allows them; the generated type does not list them). */
const cart = (
  id: string,
  doc: Omit<ShoppingCart, 'id' | 'href'>,
  extensions: Record<string, unknown> = {},
): ShoppingCart => ({ id, href: base + id, ...doc, ...extensions }) as ShoppingCart;

const party = (id: string, role: string, name: string, referredType = 'Individual'): RelatedParty => ({
  id,
  role,
  name,
  '@referredType': referredType,
});

const price = (
  priceType: string,
  taxRate: number,
  value: number,
  unit = 'EUR',
): NonNullable<CartItem['itemPrice']>[number] => ({
  priceType,
  price: {
    taxRate,
    dutyFreeAmount: { unit, value },
    taxIncludedAmount: { unit, value: Math.round(value * (100 + taxRate)) / 100 },
  },
});

export const filterDocs: ShoppingCart[] = [
  cart(
    'f01',
    {
      '@type': 'ShoppingCart',
      validFor: { startDateTime: '2024-05-01T08:00:00Z', endDateTime: '2025-01-01T10:00:00Z' },
      relatedParty: [party('p1', 'customer', 'Anna'), party('p2', 'seller', 'Shop Nord', 'Organization')],
      cartItem: [
        {
          id: '1',
          quantity: 1,
          status: 'active',
          action: 'add',
          productOffering: { id: 'po-1', name: 'Fibre 100' },
          itemPrice: [price('recurring', 20, 30), price('oneTime', 20, 99)],
          product: {
            isBundle: false,
            productCharacteristic: [
              { name: 'color', value: 'red' },
              { name: 'size', value: 42 },
            ],
          },
          note: [{ date: '2024-02-10T09:00:00+01:00', text: 'call first' }],
        },
        {
          id: '2',
          quantity: 3,
          status: 'saveForLater',
          action: 'add',
          productOffering: { id: 'po-2', name: 'Mobile 50' },
        },
      ],
    },
    { channel: 'web', score: 10, gift: true, tags: ['x', 'y'], loyalty: { tier: 'gold', points: 120 } },
  ),
  cart(
    'f02',
    {
      '@type': 'CustomShoppingCart',
      '@baseType': 'ShoppingCart',
      validFor: { startDateTime: '2024-06-01T00:00:00+02:00', endDateTime: '2025-01-01T12:00:00+02:00' },
      relatedParty: [party('p3', 'customer', 'Smith, John')],
      cartItem: [
        {
          id: '1',
          quantity: 2,
          status: 'active',
          action: 'modify',
          productOffering: { id: 'po-1', name: 'Fibre 100' },
          itemPrice: [price('recurring', 7.5, 12.5)],
          product: { isBundle: true, productCharacteristic: [{ name: 'eco', value: true }] },
          cartItem: [
            { id: '1.1', quantity: 5, productOffering: { id: 'po-9', name: 'Router' } },
            { id: '1.2', quantity: 1, productOffering: { id: 'po-8', name: 'Cable' } },
          ],
        },
      ],
    },
    { channel: 'store', score: 9, gift: false, loyalty: [{ tier: 'silver' }, { tier: 'gold', points: 80 }] },
  ),
  cart(
    'f03',
    {
      '@type': 'ShoppingCart',
      validFor: { endDateTime: '2025-01-01T05:00:00-05:00' },
      relatedParty: [party('p1', 'seller', 'Anna'), party('p4', 'customer', 'Ana')],
      cartItem: [
        {
          id: '7',
          quantity: 10,
          status: 'active',
          action: 'add',
          productOffering: { id: 'po-3', name: 'TV 200' },
          itemPrice: [price('oneTime', 0, 450, 'USD')],
          product: {
            isBundle: false,
            productCharacteristic: [
              { name: 'dims', value: { w: 1, h: 2 } },
              { name: 'labels', value: ['a', 'b'] },
            ],
          },
        },
      ],
    },
    { channel: 'web', score: '10', tags: ['y'] },
  ),
  cart(
    'f04',
    {
      '@type': 'ShoppingCart',
      validFor: { startDateTime: '2024-01-15', endDateTime: '2024-12-31T23:00:00.500Z' },
      cartItem: [
        {
          id: '1',
          quantity: 1,
          status: 'saveForLater',
          action: 'delete',
          productOffering: { id: 'po-2', name: 'Mobile 50' },
          note: [{ date: '2024-03-05T12:00:00Z', text: 'gift wrap' }],
        },
      ],
    },
    { channel: 'ｚshop', gift: true, extra: null },
  ),
  cart('f05', {}),
  cart(
    'f06',
    {
      '@type': 'CustomShoppingCart',
      '@baseType': 'ShoppingCart',
      validFor: { startDateTime: '2024-07-01T00:00:00Z', endDateTime: '2025-06-30T00:00:00Z' },
      relatedParty: [],
      cartItem: [],
      contactMedium: [
        { mediumType: 'email', preferred: true, characteristic: { emailAddress: 'a@example.com' } },
      ],
    },
    { channel: '😀shop', score: 100.5 },
  ),
  cart(
    'f07',
    {
      '@type': 'ShoppingCart',
      validFor: { startDateTime: '2024-05-31T22:30:00-03:00', endDateTime: '2025-03-01T00:00:00+05:30' },
      relatedParty: [party('p2', 'customer', 'Zoë')],
      cartItem: [
        {
          id: '1',
          quantity: 4,
          status: 'active',
          action: 'noChange',
          productOffering: { id: 'po-4', name: 'Mobile 200' },
          itemPrice: [price('recurring', 20, 45)],
          product: {
            isBundle: true,
            productCharacteristic: [
              { name: 'color', value: 'blue' },
              { name: 'size', value: 38 },
              { name: 'gift', value: false },
            ],
          },
        },
        {
          id: '2',
          quantity: 1,
          status: 'active',
          action: 'add',
          productOffering: { id: 'po-1', name: 'Fibre 100' },
          itemPrice: [price('recurring', 5, 8)],
        },
      ],
      cartTotalPrice: [
        { priceType: 'recurring', price: { taxIncludedAmount: { unit: 'EUR', value: 62.4 } } },
      ],
    },
    { channel: 'web', score: 7, loyalty: { tier: 'bronze', points: 5 } },
  ),
  cart(
    'f08',
    {
      '@type': 'ShoppingCart',
      relatedParty: [party('p1', 'customer', 'Anna'), party('p3', 'seller', 'Shop Süd', 'Organization')],
      cartItem: [
        {
          id: '1',
          quantity: 2,
          status: 'active',
          action: 'add',
          productOffering: { id: 'po-5', name: 'Fibre 1000' },
          itemPrice: [price('recurring', 20, 60), price('oneTime', 20, 0)],
          cartItem: [{ id: '1.1', quantity: 1, productOffering: { id: 'po-9', name: 'Router' } }],
        },
      ],
      cartTotalPrice: [{ priceType: 'recurring', price: { taxIncludedAmount: { unit: 'EUR', value: 72 } } }],
    },
    { score: 12, gift: false, tags: [] },
  ),
  cart(
    'f09',
    {
      validFor: { endDateTime: '2024-11-30T18:00:00.123+01:00' },
      relatedParty: [party('p5', 'customer', "O'Brien")],
      cartItem: [{ id: '1', quantity: 6, productOffering: { id: 'po-6' } }],
    },
    { channel: 'call-center', 'id[$ne]': 'x' },
  ),
  cart(
    'f10',
    {
      '@type': 'ShoppingCart',
      validFor: { startDateTime: '2024-06-01T00:00:00Z', endDateTime: '2025-02-28T23:59:59Z' },
      relatedParty: [party('p2', 'seller', 'Anna')],
      cartItem: [
        {
          id: '1',
          quantity: 1,
          status: 'active',
          action: 'add',
          productOffering: { id: 'po-1', name: 'Fibre 100' },
          itemPrice: [price('recurring', 20, 30)],
          product: { isBundle: false },
          note: [{ date: '2024-02-29T23:30:00-01:00', text: 'leap' }],
        },
      ],
    },
    { channel: 'web', score: 10.0, gift: true, tags: ['x'] },
  ),
  cart(
    'f11',
    {
      '@type': 'ShoppingCart',
      validFor: { startDateTime: '2023-12-31T23:59:59.999Z', endDateTime: '2025-01-01T10:00:00.001Z' },
      cartItem: [
        {
          id: '1',
          quantity: 3,
          status: 'active',
          action: 'add',
          productOffering: { id: 'po-2', name: 'Mobile 50' },
          product: { productCharacteristic: [{ name: 'size', value: '42' }] },
        },
      ],
    },
    { channel: 'WEB', loyalty: { tier: 'gold', points: 100 } },
  ),
  cart(
    'f12',
    {
      '@type': 'ShoppingCart',
      relatedParty: [party('p6', 'customer', 'Smith'), party('p7', 'customer', 'John')],
    },
    { score: -1, tags: ['x', 'z'], gift: 'yes' },
  ),
  cart(
    'f13',
    {
      '@type': 'ShoppingCart',
      validFor: { endDateTime: '2026-01-01T00:00:00Z' },
      cartItem: [
        {
          id: '1',
          quantity: 2,
          status: 'saveForLater',
          action: 'add',
          productOffering: { id: 'po-7', name: 'Mobile 999' },
          cartItem: [
            { id: '1.1', quantity: 7, productOffering: { id: 'po-8', name: 'Cable' } },
            { id: '1.2', quantity: 2, productOffering: { id: 'po-1', name: 'Fibre 100' } },
          ],
        },
      ],
    },
    { channel: null, loyalty: [{ tier: 'gold' }, { points: 300 }] },
  ),
  cart(
    'f14',
    {
      '@type': 'ShoppingCart',
      validFor: { startDateTime: '2024-06-01T02:00:00+02:00', endDateTime: '2024-12-31T23:59:59.999+00:00' },
      relatedParty: [party('p1', 'customer', 'Anna')],
      cartItem: [
        {
          id: '1',
          quantity: 1,
          status: 'active',
          action: 'add',
          productOffering: { id: 'po-1', name: 'Fibre 100' },
          itemPrice: [price('recurring', 10, 30)],
          product: { isBundle: true, productCharacteristic: [{ name: 'color', value: 'red' }] },
        },
        {
          id: '2',
          quantity: 1,
          status: 'active',
          action: 'add',
          productOffering: { id: 'po-4', name: 'Mobile 200' },
        },
      ],
    },
    { channel: 'web', score: 10, gift: true, tags: 'x' },
  ),
];

const enc = encodeURIComponent;

/** Queries whose matches are compared store by store with the evaluator (raw query strings). */
export const filterCases: { name: string; query: string }[] = [
  { name: 'id equals', query: 'id=f03' },
  { name: 'id comma OR', query: 'id=f01,f05' },
  { name: 'id repeated key OR', query: 'id=f01&id=f02' },
  { name: 'href equals (CTK)', query: `href=${base}f04` },
  { name: '@type', query: '@type=CustomShoppingCart' },
  { name: '@type percent-encoded key', query: '%40type=CustomShoppingCart' },
  { name: '@baseType', query: '@baseType=ShoppingCart' },
  { name: '@type ne (missing satisfies ne)', query: '@type.ne=ShoppingCart' },
  { name: 'keyed relatedParty.id', query: 'relatedParty.id=p1' },
  { name: 'keyed relatedParty.id OR', query: 'relatedParty.id=p1,p3' },
  { name: 'keyed relatedParty.id ne', query: 'relatedParty.id.ne=p1' },
  { name: 'keyed relatedParty.id != symbol', query: 'relatedParty.id!=p1' },
  { name: 'keyed relatedParty.id %21= encoded', query: 'relatedParty.id%21=p2' },
  { name: 'relatedParty.role', query: 'relatedParty.role=seller' },
  { name: 'AND across attributes (any element each)', query: 'relatedParty.id=p1&relatedParty.role=seller' },
  { name: 'relatedParty @referredType', query: 'relatedParty.@referredType=Organization' },
  { name: 'keyed productOffering.id', query: 'cartItem.productOffering.id=po-1' },
  { name: 'keyed productOffering.id ne', query: 'cartItem.productOffering.id.ne=po-1' },
  {
    name: 'productOffering AND status',
    query: 'cartItem.productOffering.id=po-2&cartItem.status=saveForLater',
  },
  { name: 'quantity .gt', query: 'cartItem.quantity.gt=3' },
  { name: 'quantity > symbol', query: 'cartItem.quantity>3' },
  { name: 'quantity %3E encoded', query: 'cartItem.quantity%3E3' },
  { name: 'quantity >= symbol', query: 'cartItem.quantity>=3' },
  { name: 'quantity %3E%3D encoded', query: 'cartItem.quantity%3E%3D4' },
  { name: 'quantity %3E= half encoded', query: 'cartItem.quantity%3E=4' },
  { name: 'quantity .gte', query: 'cartItem.quantity.gte=4' },
  { name: 'quantity < symbol', query: 'cartItem.quantity<2' },
  { name: 'quantity <= symbol', query: 'cartItem.quantity<=1' },
  { name: 'quantity %3C= encoded', query: 'cartItem.quantity%3C=1' },
  { name: 'quantity .lt', query: 'cartItem.quantity.lt=2' },
  { name: 'quantity .lte', query: 'cartItem.quantity.lte=2' },
  { name: 'quantity .ne (no element equals)', query: 'cartItem.quantity.ne=1' },
  { name: 'quantity .eq decimal literal', query: 'cartItem.quantity.eq=3.0' },
  { name: 'quantity range: distinct ops AND', query: 'cartItem.quantity.gte=2&cartItem.quantity.lt=4' },
  { name: 'quantity repeated key OR', query: 'cartItem.quantity=3&cartItem.quantity=10' },
  { name: 'nested cartItem productOffering', query: 'cartItem.cartItem.productOffering.id=po-9' },
  { name: 'nested cartItem quantity', query: 'cartItem.cartItem.quantity.gte=5' },
  { name: 'nested cartItem id', query: 'cartItem.cartItem.id=1.2' },
  { name: 'itemPrice taxRate', query: 'cartItem.itemPrice.price.taxRate=20' },
  { name: 'itemPrice taxRate lt', query: 'cartItem.itemPrice.price.taxRate.lt=10' },
  { name: 'Money value gte', query: 'cartItem.itemPrice.price.dutyFreeAmount.value.gte=60' },
  { name: 'Money unit', query: 'cartItem.itemPrice.price.dutyFreeAmount.unit=USD' },
  { name: 'cartTotalPrice value', query: 'cartTotalPrice.price.taxIncludedAmount.value.gt=65' },
  { name: 'priceType comma OR', query: 'cartItem.itemPrice.priceType=oneTime,none' },
  { name: 'boolean isBundle', query: 'cartItem.product.isBundle=true' },
  { name: 'boolean isBundle ne', query: 'cartItem.product.isBundle.ne=true' },
  { name: 'boolean contactMedium.preferred', query: 'contactMedium.preferred=true' },
  { name: 'contactMedium email', query: `contactMedium.characteristic.emailAddress=${enc('a@example.com')}` },
  { name: 'date gt Z', query: 'validFor.endDateTime.gt=2025-01-01T10:00:00Z' },
  { name: 'date eq across offsets', query: 'validFor.endDateTime=2025-01-01T12:00:00+02:00' },
  { name: 'date gte encoded plus', query: 'validFor.endDateTime>=2025-01-01T11:00:00%2B01:00' },
  { name: 'date lt raw plus', query: 'validFor.endDateTime<2025-01-01T10:00:00+00:00' },
  { name: 'date lte quoted plain date', query: 'validFor.endDateTime.lte="2025-01-01"' },
  { name: 'date ne (missing satisfies)', query: 'validFor.endDateTime.ne=2025-01-01T10:00:00Z' },
  { name: 'date with millis', query: 'validFor.endDateTime.gt=2024-12-31T23:00:00.5Z' },
  { name: 'startDateTime gte plain date', query: 'validFor.startDateTime.gte=2024-06-01' },
  {
    name: 'startDateTime lt single-quoted offset',
    query: "validFor.startDateTime.lt='2024-06-01T00:00:00-03:00'",
  },
  { name: 'startDateTime eq offset', query: 'validFor.startDateTime=2024-05-31T22:00:00Z' },
  { name: 'note date in array', query: 'cartItem.note.date.gt=2024-03-01T00:00:00Z' },
  { name: 'note date lte leap day', query: 'cartItem.note.date.lte=2024-03-01T00:30:00Z' },
  { name: 'status double-quoted', query: 'cartItem.status="saveForLater"' },
  { name: 'action comma OR', query: 'cartItem.action=delete,modify' },
  { name: 'quoted value with comma', query: 'relatedParty.name="Smith, John"' },
  { name: 'encoded comma in value', query: 'relatedParty.name=Smith%2C%20John' },
  { name: 'quoted values list', query: `relatedParty.name='Smith, John','${enc("O'Brien")}'` },
  { name: 'name string gt', query: 'relatedParty.name.gt=Shop' },
  { name: 'unicode beyond BMP (code point order)', query: `channel.gt=${enc('ｚ')}` },
  { name: 'unicode lt emoji', query: `channel.lt=${enc('😀')}` },
  { name: 'extension string', query: 'channel=web' },
  { name: 'extension string ne', query: 'channel.ne=web' },
  { name: 'regex extension', query: 'channel.regex=^w' },
  { name: 'regex anchored alternation', query: 'relatedParty.name.regex=^Ann?a$' },
  {
    name: 'regex with bounded quantifier comma',
    query: `cartItem.productOffering.name.regex=${enc('^(?:Fibre|Mobile) [0-9]{2,3}$')}`,
  },
  { name: 'regex on keyed path', query: 'relatedParty.id.regex=^p[12]$' },
  { name: 'regex quoted', query: 'cartItem.status.regex="^save"' },
  { name: 'keyed path gt (not via keys)', query: 'relatedParty.id.gt=p4' },
  { name: 'extension number eq', query: 'score=10' },
  { name: 'extension number gt', query: 'score.gt=9' },
  { name: 'extension number lt negative', query: 'score.lt=0' },
  { name: 'extension boolean', query: 'gift=true' },
  { name: 'extension boolean ne', query: 'gift.ne=true' },
  { name: 'extension scalar array', query: 'tags=y' },
  { name: 'extension array or scalar', query: 'tags=x' },
  { name: 'extension object or array of objects', query: 'loyalty.tier=gold' },
  { name: 'extension nested number', query: 'loyalty.points.gte=100' },
  { name: 'extension null never matches', query: 'channel.ne=web&extra=null' },
  { name: 'extension null satisfies ne', query: 'extra.ne=x' },
  { name: 'Any value string', query: 'cartItem.product.productCharacteristic.value=red' },
  { name: 'Any value number or string', query: 'cartItem.product.productCharacteristic.value=42' },
  { name: 'Any value number gt', query: 'cartItem.product.productCharacteristic.value.gt=40' },
  { name: 'Any value boolean', query: 'cartItem.product.productCharacteristic.value=false' },
  { name: 'Any value object member', query: 'cartItem.product.productCharacteristic.value.w=1' },
  { name: 'Any value array element', query: 'cartItem.product.productCharacteristic.value=b' },
  {
    name: 'three attributes AND',
    query: '@type=ShoppingCart&cartItem.status=active&validFor.endDateTime.gt=2024-12-31T00:00:00Z',
  },
  { name: 'object attribute never equals', query: 'validFor=x' },
  { name: 'object attribute ne', query: 'validFor.ne=x' },
  { name: 'array of objects never equals', query: 'relatedParty=p1' },
  { name: 'unknown attribute: empty', query: 'colour=red' },
  { name: 'id[$ne] is a literal attribute', query: 'id[$ne]=x' },
  { name: 'id[$ne] encoded', query: 'id%5B%24ne%5D=zzz' },
  { name: 'SQL injection in id', query: `id=${enc("f01' OR '1'='1")}` },
  { name: 'SQL injection in extension', query: `channel=${enc('web");DROP TABLE carts;--')}` },
  { name: 'SQL injection in keyed path', query: `relatedParty.id=${enc("p1') OR 1=1 --")}` },
  { name: 'SQL injection in attribute name', query: `${enc("x') OR 1=1 --")}=1` },
  { name: 'empty value', query: 'channel=' },
];

/** Sorting and paging: the order (and page) must equal the evaluator's. */
export const sortCases: { name: string; query: string }[] = [
  { name: 'by quantity (first item)', query: 'sort=cartItem.quantity' },
  { name: 'by quantity descending', query: 'sort=-cartItem.quantity' },
  { name: 'by endDateTime, first page', query: 'sort=validFor.endDateTime&limit=5' },
  { name: 'by endDateTime descending, middle page', query: 'sort=-validFor.endDateTime&offset=2&limit=4' },
  { name: 'by startDateTime (date kind)', query: 'sort=validFor.startDateTime' },
  { name: 'by @type then id descending', query: 'sort=@type,-id' },
  { name: 'by relatedParty name (unicode)', query: 'sort=relatedParty.name' },
  { name: 'by extension of mixed types', query: 'sort=score' },
  { name: 'by channel then taxRate', query: 'sort=channel,cartItem.itemPrice.price.taxRate' },
  { name: 'by unknown arrays of objects', query: 'sort=-loyalty.tier' },
  { name: 'by boolean', query: 'sort=cartItem.product.isBundle,-id' },
  { name: 'by Any value', query: 'sort=cartItem.product.productCharacteristic.value' },
  { name: 'by href, paged', query: 'sort=href&offset=3&limit=3' },
  { name: 'by extension boolean descending', query: 'sort=-gift' },
  { name: 'by unknown attribute (id only)', query: 'sort=nothing&limit=7' },
  { name: 'filtered and sorted', query: 'relatedParty.id=p1&sort=-cartItem.quantity&limit=2' },
  { name: 'by scalar or array extension', query: 'sort=tags' },
  { name: 'by object extension (JSON text)', query: 'sort=loyalty' },
  { name: 'by nested cartItem quantity', query: 'sort=-cartItem.cartItem.quantity,validFor.startDateTime' },
  { name: 'id descending, offset past end', query: 'sort=-id&offset=30' },
  { name: 'default order, paged', query: 'offset=4&limit=4' },
];

/**
 * The store's times of each filterDocs cart (v5's creationDate and lastUpdate), spelt as the cart
 * service writes them (Date.toISOString()): the stores create each cart at `createdAt` and, when
 * `updatedAt` differs, replace it then. Carts are created in pairs at one instant (ties), and
 * updated 0 to 4 hours later.
 */
export const filterTimes: Record<string, RecordTimes> = Object.fromEntries(
  filterDocs.map((doc, i) => {
    const created = Date.UTC(2024, 0, 1) + Math.floor(i / 2) * 3_600_000;
    const updated = created + ((i * 3) % 5) * 3_600_000;
    const times = { createdAt: new Date(created).toISOString(), updatedAt: new Date(updated).toISOString() };
    return [doc.id ?? '', times];
  }),
);

/**
 * Filters and sorts on the metadata paths, written as v5 queries: a metadata path is named only
 * through v5's creationDate and lastUpdate (src/versions/v5/paths.ts toCanonicalListQuery). Values
 * are spelt every way RFC 3339 and TMF630 literals allow; each compares as its instant.
 */
export const metadataCases: { name: string; query: string }[] = [
  { name: 'creationDate eq without millis', query: 'creationDate=2024-01-01T02:00:00Z' },
  { name: 'creationDate eq with an offset', query: 'creationDate=2024-01-01T04:00:00%2B01:00' },
  {
    name: 'creationDate eq, two values',
    query: 'creationDate=2024-01-01T00:00:00.000Z,2024-01-01T05:00:00z',
  },
  { name: 'creationDate gt', query: 'creationDate.gt=2024-01-01T03:00:00.000Z' },
  { name: 'creationDate gte, fraction digits', query: 'creationDate.gte=2024-01-01T02:59:59.9999999Z' },
  { name: 'creationDate lt, no seconds', query: 'creationDate.lt=2024-01-01T02:00' },
  { name: 'creationDate lte, symbol', query: 'creationDate<=2024-01-01T01:00:00-00:00' },
  { name: 'creationDate ne', query: 'creationDate.ne=2024-01-01T01:00:00Z' },
  { name: 'creationDate between', query: 'creationDate.gt=2024-01-01&creationDate.lt=2024-01-01T04:00:00Z' },
  { name: 'lastUpdate eq', query: 'lastUpdate=2024-01-01T04:00:00Z' },
  { name: 'lastUpdate gt', query: 'lastUpdate.gt=2024-01-01T05:00:00Z' },
  { name: 'lastUpdate gte, symbol', query: 'lastUpdate>=2024-01-01T05:00:00%2B00:00' },
  { name: 'lastUpdate lt, plain date', query: 'lastUpdate.lt=2024-01-02' },
  { name: 'lastUpdate lte', query: 'lastUpdate.lte=2024-01-01T03:00:00.000Z' },
  { name: 'lastUpdate ne', query: 'lastUpdate.ne=2024-01-01T04:00:00Z' },
  {
    name: 'lastUpdate with a document filter',
    query: 'relatedParty.partyOrPartyRole.id=p1&lastUpdate.gt=2024-01-01T02:00:00Z',
  },
  { name: 'creationDate with a residual regex', query: 'channel.regex=^.shop&creationDate.gte=2024-01-01' },
  { name: 'sort by creationDate', query: 'sort=creationDate' },
  { name: 'sort by creationDate descending', query: 'sort=-creationDate' },
  { name: 'sort by lastUpdate, paged', query: 'sort=lastUpdate&offset=2&limit=5' },
  { name: 'sort by lastUpdate descending then creationDate', query: 'sort=-lastUpdate,creationDate' },
  { name: 'sort through an array, then creationDate', query: 'sort=cartItem.quantity,-creationDate' },
  {
    name: 'filtered and sorted by metadata',
    query: 'creationDate.lte=2024-01-01T04:00:00Z&sort=-lastUpdate',
  },
];
