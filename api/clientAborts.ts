/**
 * Clients that break their connection — a phone losing signal mid-upload, a closed SSE tab, a half-sent request —
 * are routine, not failures of ours: they are logged below ERROR and counted apart from server errors.
 */

/** Error codes Node and raw-body give a request or socket the client broke or garbled. */
const CLIENT_GONE = new Set(['ECONNABORTED', 'ECONNRESET', 'EPIPE', 'ERR_STREAM_PREMATURE_CLOSE']);

/** Whether `err` comes from the client breaking or garbling its connection (not from a fault of ours). */
export function isClientAbort(err: unknown): boolean {
  const e = err as { code?: unknown; type?: unknown } | undefined;
  if (e?.type === 'request.aborted') return true;
  // llhttp's parser errors (HPE_INVALID_EOF_STATE, HPE_INVALID_CHUNK_SIZE…) mean the bytes on the socket were broken.
  return typeof e?.code === 'string' && (CLIENT_GONE.has(e.code) || e.code.startsWith('HPE_'));
}
