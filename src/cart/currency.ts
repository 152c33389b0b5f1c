/**
 * ISO 4217 minor units: how many decimal places an amount in a currency is rounded to.
 * Only the exceptions are listed; everything else (EUR, USD, unknown or made-up codes) has 2,
 * because 2 is by far the most common exponent and the safest guess for an unknown code (it
 * neither invents sub-cent precision nor silently drops cents).
 */

const ZERO_DECIMALS = [
  'BIF',
  'CLP',
  'DJF',
  'GNF',
  'ISK',
  'JPY',
  'KMF',
  'KRW',
  'PYG',
  'RWF',
  'UGX',
  'UYI',
  'VND',
  'VUV',
  'XAF',
  'XOF',
  'XPF',
];
const THREE_DECIMALS = ['BHD', 'IQD', 'JOD', 'KWD', 'LYD', 'OMR', 'TND'];
// Unidades de fomento and the Uruguayan wage index unit: rare, but ISO gives them 4 places.
const FOUR_DECIMALS = ['CLF', 'UYW'];

const MINOR_UNITS: ReadonlyMap<string, number> = new Map([
  ...ZERO_DECIMALS.map((code) => [code, 0] as const),
  ...THREE_DECIMALS.map((code) => [code, 3] as const),
  ...FOUR_DECIMALS.map((code) => [code, 4] as const),
]);

export const DEFAULT_MINOR_UNIT = 2;

/**
 * Decimal places for a currency code. The lookup ignores case so that 'jpy' is not rounded to
 * cents, even though units are otherwise compared exactly as the client wrote them.
 */
export const minorUnit = (currency: string): number =>
  MINOR_UNITS.get(currency.toUpperCase()) ?? DEFAULT_MINOR_UNIT;
