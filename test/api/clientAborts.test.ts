import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { startApi, type TestApi } from '../support/api';
import { describeEachDatabase } from '../support/databases';

/** Opens a raw socket to the API, writes `chunks` and then breaks the connection. */
async function sendAndBreak(url: string, token: string, tail: string): Promise<void> {
  const { port } = new URL(url);
  const socket = connect(Number(port), '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  socket.write(`POST /rules HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\n${tail}`);
  await new Promise((r) => setTimeout(r, 150));
  socket.destroy();
}

async function waitFor(check: () => boolean, what: string): Promise<void> {
  const until = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describeEachDatabase('clients that break their connection', (db) => {
  let api: TestApi;
  const lines: { level: number; msg: string; err?: unknown }[] = [];
  before(async () => {
    const sink = new Writable({
      write(chunk, _enc, done) {
        for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
        done();
      },
    });
    api = await startApi(db(), {}, { log: pino({ level: 'debug' }, sink) });
  });
  after(() => api.close());

  const cases: [string, string][] = [
    ['a client that disconnects mid-body', 'Content-Length: 1000\r\n\r\n{"name":'],
    ['a broken chunked body (a parser error on the socket)', 'Transfer-Encoding: chunked\r\n\r\n5\r\n{"na"\r\nzz-not-a-size\r\n'],
  ];
  for (const [name, tail] of cases) {
    it(`logs ${name} below ERROR and counts it apart from server errors`, async () => {
      const { token } = await api.signUp();
      const before = lines.length;
      await sendAndBreak(api.url, token, tail);
      await waitFor(() => lines.slice(before).some((l) => /client/i.test(l.msg)), 'the client-abort line');
      await new Promise((r) => setTimeout(r, 200));
      const mine = lines.slice(before);
      assert.deepEqual(
        mine.filter((l) => l.level >= 50),
        [],
        'no ERROR line',
      );
      const metrics = await (await fetch(`${api.url}/metrics`)).text();
      assert.doesNotMatch(metrics, /http_errors_total\{code="INTERNAL"\}/);
      assert.match(metrics, /http_client_aborts_total [1-9]/);
    });
  }
});
