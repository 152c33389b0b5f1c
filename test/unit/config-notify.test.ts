import { expect } from 'chai';
import { ConfigError, loadConfig } from '../../src/config/config.js';

describe('config: the notification settings', () => {
  it('has documented defaults: 32 per subscriber, 100,000 pending, 1 h and 7 d retention, delivery at nice +5, delivering', () => {
    const c = loadConfig({}).events;
    expect(c).to.deep.include({
      concurrency: 32,
      maxPending: 100_000,
      deliveredRetentionMs: 3_600_000,
      deadLetterRetentionMs: 7 * 86_400_000,
      threadNice: 5,
      dispatcher: true,
    });
  });

  it('reads each variable', () => {
    const c = loadConfig({
      NOTIFY_CONCURRENCY: '8',
      NOTIFY_MAX_PENDING: '500',
      NOTIFY_DELIVERED_RETENTION: '10m',
      NOTIFY_DEAD_LETTER_RETENTION: '2d',
      NOTIFY_THREAD_NICE: '0',
      NOTIFY_DISPATCHER: 'false',
    }).events;
    expect(c).to.deep.include({
      concurrency: 8,
      maxPending: 500,
      deliveredRetentionMs: 600_000,
      deadLetterRetentionMs: 2 * 86_400_000,
      threadNice: 0,
      dispatcher: false,
    });
  });

  it('names every bad value at once', () => {
    let error: unknown;
    try {
      loadConfig({
        NOTIFY_CONCURRENCY: '0',
        NOTIFY_MAX_PENDING: 'lots',
        NOTIFY_DELIVERED_RETENTION: 'forever',
        NOTIFY_DEAD_LETTER_RETENTION: '0',
        NOTIFY_THREAD_NICE: '20',
        NOTIFY_DISPATCHER: 'maybe',
      });
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const name of [
      'NOTIFY_CONCURRENCY',
      'NOTIFY_MAX_PENDING',
      'NOTIFY_DELIVERED_RETENTION',
      'NOTIFY_DEAD_LETTER_RETENTION',
      'NOTIFY_THREAD_NICE',
      'NOTIFY_DISPATCHER',
    ])
      expect(problems).to.contain(name);
  });
});
