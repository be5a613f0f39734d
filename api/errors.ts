/** API errors as data: a code of API.md, its HTTP status, a message safe to show, optional details. */

/** Every error code the API answers with, and its HTTP status (API.md, "Error codes"). */
export const ERROR_STATUS = {
  VALIDATION_ERROR: 400,
  INVALID_JSON: 400,
  UNAUTHORIZED: 401,
  INSUFFICIENT_CREDITS: 402,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  INVALID_STATE: 409,
  UPLOAD_INCOMPLETE: 409,
  IDEMPOTENCY_KEY_REUSED: 409,
  RULE_SLOTS_EXHAUSTED: 409,
  VARIANT_LIMIT_REACHED: 409,
  PAYLOAD_TOO_LARGE: 413,
  TOO_MANY_ACTIVE_JOBS: 429,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  UNAVAILABLE: 503,
} as const;

/** An API error code. */
export type ErrorCode = keyof typeof ERROR_STATUS;

/** An error the API turns into an envelope with `status` and `code`; anything else becomes a 500 INTERNAL. */
export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = ERROR_STATUS[code];
  }
}

/** 404 for a missing resource — and for one of another user, which must look the same. */
export function notFound(what: string): ApiError {
  return new ApiError('NOT_FOUND', `${what} not found`);
}

/** The Retry-After of a 503: dependencies come back in seconds (a restart), and clients should not hammer them. */
export const RETRY_AFTER = { 'Retry-After': '5' };
