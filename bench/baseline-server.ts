/**
 * The two baselines of npm run bench: serve the identical bytes of one 5-item cart from memory,
 * with nothing else, as a bare node:http server or a bare Express 5 route.
 *
 *   node --import tsx bench/baseline-server.ts http|express PORT BODY_FILE
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import express from 'express';

const [kind, portText, bodyFile] = process.argv.slice(2);
const body = readFileSync(bodyFile ?? '', 'utf8');
const port = Number(portText);
const type = 'application/json;charset=utf-8';

if (kind === 'http') {
  createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  }).listen(port, '127.0.0.1');
} else {
  const app = express();
  app.get('/tmf-api/shoppingCart/v4/shoppingCart/:id', (_req, res) => {
    res.set('Content-Type', type).send(body);
  });
  app.listen(port, '127.0.0.1');
}
