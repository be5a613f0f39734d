/** The demo's HTTP client: what the mobile app does, through the public API only (envelope, bearer token, SSE). */

/** An API error answer, with its envelope code. */
export class ApiCallError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(`${status} ${code}: ${message}`);
  }
}

/** A minimal client of the REST contract. */
export function createClient(baseUrl: string) {
  let token: string | undefined;
  async function call<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    const res = await fetch(baseUrl + path, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const env = (await res.json()) as { success: boolean; data: T; error: { code: string; message: string } | null };
    if (!env.success) throw new ApiCallError(res.status, env.error?.code ?? 'UNKNOWN', env.error?.message ?? '');
    return env.data;
  }
  return {
    call,
    setToken: (t: string) => (token = t),
    /** Follows `GET /jobs/{id}/events`, calling `onProgress` per `progress` event; resolves with the `end` JobView. */
    async follow(jobId: string, onProgress: (summary: any) => void): Promise<any> {
      const res = await fetch(`${baseUrl}/jobs/${jobId}/events`, { headers: { authorization: `Bearer ${token}` } });
      if (!res.ok || !res.body) throw new Error(`events stream: HTTP ${res.status}`);
      const decoder = new TextDecoder();
      let buffer = '';
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const event = /^event: (.+)$/m.exec(block)?.[1];
          const data = /^data: (.+)$/m.exec(block)?.[1];
          if (!event || !data) continue;
          if (event === 'progress') onProgress(JSON.parse(data));
          if (event === 'end') return JSON.parse(data);
          if (event === 'error') throw new Error(`events stream: ${data}`);
        }
      }
      throw new Error('events stream closed before the job ended');
    },
  };
}

/** Renders one progress bar line per job; redraws in place on a terminal, prints changes otherwise. */
export function progressBoard(names: string[]) {
  const lines = new Map(names.map((n) => [n, `${n.padEnd(9)} waiting`]));
  const tty = process.stdout.isTTY;
  let drawn = false;
  const draw = () => {
    if (tty && drawn) process.stdout.write(`\x1b[${names.length}A`);
    for (const n of names) process.stdout.write(`${tty ? '\x1b[2K' : ''}${lines.get(n)}\n`);
    drawn = true;
  };
  return {
    update(name: string, s: { status: string; progress: { total: number; done: number; failed: number; percent: number } }) {
      const width = 24;
      const filled = Math.round((s.progress.percent / 100) * width);
      const line =
        `${name.padEnd(9)} [${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${String(s.progress.done).padStart(2)}/${s.progress.total} done` +
        `${s.progress.failed ? `, ${s.progress.failed} failed` : ''}  ${s.status}`;
      if (line === lines.get(name)) return;
      lines.set(name, line);
      if (tty) draw();
      else process.stdout.write(`${line}\n`);
    },
    start: () => tty && draw(),
  };
}
