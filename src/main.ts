/** The process: load config, open store, serve, and shut down cleanly on SIGTERM/SIGINT. */
import { ConfigError, loadConfig } from './config.js';
import { openStore } from './store/open-store.js';
import { startServer } from './server.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      process.exit(2);
    }
    throw e;
  }
  const store = await openStore(config);
  const running = await startServer(config, store);
  console.log(`TMF663 shopping cart API on ${running.url}/tmf-api/shoppingCart/v4/ (store: ${store.name})`);
  const stop = (signal: string): void => {
    console.log(`${signal}: shutting down`);
    void running
      .close()
      .then(() => store.close())
      .then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
