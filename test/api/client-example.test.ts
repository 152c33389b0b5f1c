// The complete client example of docs/client.md runs against the server, and the docs show it
// exactly as test/client/docs-example.ts has it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { shopperJourney } from '../client/docs-example.js';
import { startListener, type Listener } from '../support/listener.js';
import { call, useTestServer } from '../support/server.js';

const root = join(import.meta.dirname, '..', '..');

describe('docs/client.md example', () => {
  const server = useTestServer({}, { notifyBackoffMs: 10, notifyPollMs: 20 }, { checkErrors: false });
  let listener: Listener;
  before(async () => {
    listener = await startListener();
  });
  after(async () => {
    await listener.close();
  });

  it('is the code of test/client/docs-example.ts, word for word', () => {
    const code = readFileSync(join(root, 'test/client/docs-example.ts'), 'utf8');
    const example =
      /\/\/ --- docs\/client\.md example start\n([\s\S]*?)\/\/ --- docs\/client\.md example end/.exec(
        code,
      )?.[1];
    expect(example).to.be.a('string');
    expect(readFileSync(join(root, 'docs/client.md'), 'utf8')).to.contain('```ts\n' + example! + '```');
  });

  it('creates, adds an item, reads totals, pages and is notified', async () => {
    const customer = `customer-${randomUUID()}`;
    const result = await shopperJourney(server.url, listener.url, customer);
    expect(result.etag).to.equal('"2"');
    expect(result.total).to.deep.equal({ unit: 'EUR', value: 240 });
    expect(result.cartIds).to.deep.equal([result.cartId]);
    const [event] = await listener.waitFor(1);
    expect(event?.body.eventType).to.equal('ShoppingCartCreateEvent');
    expect(event?.body.event.shoppingCart.id).to.equal(result.cartId);
    expect((await call(server, 'DELETE', `/hub/${result.subscriptionId}`)).status).to.equal(204);
  });
});
