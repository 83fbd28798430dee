/**
 * Google's response bodies, copied from what Google sends (sources beside each one):
 * the `{"error": {code, message, status, details?}}` envelope for the APIs and the
 * `{"error", "error_description"}` pair for the OAuth token endpoint.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { answerFormat, selectFields } from './system-parameters.ts';

export type GoogleStatus =
  | 'INVALID_ARGUMENT'
  | 'FAILED_PRECONDITION'
  | 'UNAUTHENTICATED'
  | 'PERMISSION_DENIED'
  | 'NOT_FOUND'
  | 'RESOURCE_EXHAUSTED'
  | 'UNAVAILABLE'
  | 'INTERNAL';

const httpCodeOf: Record<GoogleStatus, number> = {
  INVALID_ARGUMENT: 400,
  FAILED_PRECONDITION: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  RESOURCE_EXHAUSTED: 429,
  UNAVAILABLE: 503,
  INTERNAL: 500,
};

/** google.rpc.Code numbers, used in batchGet's per-item `status`. */
export const rpcCode = { INVALID_ARGUMENT: 3, NOT_FOUND: 5, PERMISSION_DENIED: 7 } as const;

export interface GoogleError {
  httpCode: number;
  body: { error: Record<string, unknown> };
  headers?: Record<string, string>;
}

export function googleError(status: GoogleStatus, message: string, details?: unknown[]): GoogleError {
  const error: Record<string, unknown> = { code: httpCodeOf[status], message, status };
  if (details) error.details = details;
  return { httpCode: httpCodeOf[status], body: { error } };
}

export function invalidArgument(message: string, field?: string): GoogleError {
  return googleError(
    'INVALID_ARGUMENT',
    message,
    field
      ? [
          {
            '@type': 'type.googleapis.com/google.rpc.BadRequest',
            fieldViolations: [{ field, description: message }],
          },
        ]
      : undefined,
  );
}

/** 401 for a missing, invalid or expired access token (gilesknap/gphotos-sync#376). */
export function unauthenticated(): GoogleError {
  return {
    ...googleError(
      'UNAUTHENTICATED',
      'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
    ),
    headers: { 'www-authenticate': 'Bearer realm="https://accounts.google.com/", error="invalid_token"' },
  };
}

/** 403 for a token without the method's scope (obsidian-google-photos#60, PhotoMigrator#1241). */
export function insufficientScopes(scope: string): GoogleError {
  return {
    ...googleError('PERMISSION_DENIED', 'Request had insufficient authentication scopes.'),
    headers: {
      'www-authenticate': `Bearer realm="https://accounts.google.com/", error="insufficient_scope", scope="${scope}"`,
    },
  };
}

export const notFound = (): GoogleError => googleError('NOT_FOUND', 'Requested entity was not found.');

export function unavailable(): GoogleError {
  return googleError('UNAVAILABLE', 'The service is currently unavailable.');
}

/** The project number the emulator's OAuth client pretends to belong to. */
export const projectNumber = '123456789012';

/**
 * Google's 429 RESOURCE_EXHAUSTED envelope, as in gphotosuploader/google-photos-api-client-go's
 * retry_test.go; only the quota metric and limit differ between the per-day and per-minute forms.
 */
function quotaExceeded(
  service: string,
  quota: { metricName: string; limitName: string; metric: string; limit: string; value: string },
  headers?: Record<string, string>,
): GoogleError {
  const message = `Quota exceeded for quota metric '${quota.metricName}' and limit '${quota.limitName}' of service '${service}' for consumer 'project_number:${projectNumber}'.`;
  return {
    httpCode: 429,
    ...(headers ? { headers } : {}),
    body: {
      error: {
        code: 429,
        message,
        errors: [{ message, domain: 'global', reason: 'rateLimitExceeded' }],
        status: 'RESOURCE_EXHAUSTED',
        details: [
          {
            '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
            reason: 'RATE_LIMIT_EXCEEDED',
            domain: 'googleapis.com',
            metadata: {
              service,
              quota_metric: `${service}/${quota.metric}`,
              quota_limit: quota.limit,
              quota_limit_value: quota.value,
              quota_location: 'global',
              consumer: `projects/${projectNumber}`,
            },
          },
          {
            '@type': 'type.googleapis.com/google.rpc.Help',
            links: [
              {
                description: 'Request a higher quota limit.',
                url: 'https://cloud.google.com/docs/quota#requesting_higher_quota',
              },
            ],
          },
        ],
      },
    },
  };
}

const serviceTitles: Record<string, string> = {
  'photoslibrary.googleapis.com': 'Photos Library API',
  'photospicker.googleapis.com': 'Photos Picker API',
};

/**
 * 403 for an API that is not enabled in the project (or was enabled minutes ago). The ErrorInfo
 * form is copied from hermanho/MMM-GooglePhotos#204; the older form without it, only a Help link,
 * from mrworf/photoframe#147 and f2calv/CasCap.Api.GooglePhotos#5.
 */
export function serviceDisabled(
  service: string,
  form: 'error-info' | 'help-only' = 'error-info',
): GoogleError {
  const title = serviceTitles[service] ?? service;
  const activationUrl = `https://console.developers.google.com/apis/api/${service}/overview?project=${projectNumber}`;
  const message = `${title} has not been used in project ${projectNumber} before or it is disabled. Enable it by visiting ${activationUrl} then retry. If you enabled this API recently, wait a few minutes for the action to propagate to our systems and retry.`;
  const help = {
    '@type': 'type.googleapis.com/google.rpc.Help',
    links: [{ description: 'Google developers console API activation', url: activationUrl }],
  };
  const details =
    form === 'help-only'
      ? [help]
      : [
          {
            '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
            reason: 'SERVICE_DISABLED',
            domain: 'googleapis.com',
            metadata: {
              service,
              serviceTitle: title,
              activationUrl,
              consumer: `projects/${projectNumber}`,
              containerInfo: projectNumber,
            },
          },
          { '@type': 'type.googleapis.com/google.rpc.LocalizedMessage', locale: 'en-US', message },
          help,
        ];
  return googleError('PERMISSION_DENIED', message, details);
}

/**
 * sessions.create when "the client application creates too many sessions per user"
 * (https://developers.google.com/photos/picker/reference/rest/v1/sessions/create). The body's
 * details are undocumented: `plain` has none, `rate-limit` carries an ErrorInfo like the
 * per-minute quota answers.
 */
export function tooManySessions(form: 'plain' | 'rate-limit'): GoogleError {
  const message = 'Too many sessions have been created. Delete sessions that are no longer needed.';
  if (form === 'plain') return googleError('RESOURCE_EXHAUSTED', message);
  return googleError('RESOURCE_EXHAUSTED', message, [
    {
      '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
      reason: 'RATE_LIMIT_EXCEEDED',
      domain: 'googleapis.com',
      metadata: { service: 'photospicker.googleapis.com', consumer: `projects/${projectNumber}` },
    },
  ]);
}

/** 429 per day (ApiCallsPerProjectPerDay): fatal for the day. */
export function dailyQuotaExceeded(service = 'photoslibrary.googleapis.com'): GoogleError {
  return quotaExceeded(service, {
    metricName: 'All requests',
    limitName: 'All requests per day',
    metric: 'all_requests',
    limit: 'ApiCallsPerProjectPerDay',
    value: '10000',
  });
}

/** 429 per minute (WritesPerMinutePerUser), plus Retry-After. */
export function perMinuteQuotaExceeded(
  retryAfterSeconds: number,
  service = 'photoslibrary.googleapis.com',
): GoogleError {
  return quotaExceeded(
    service,
    {
      metricName: 'Write requests',
      limitName: 'Write requests per minute per user',
      metric: 'write_requests',
      limit: 'WritesPerMinutePerUser',
      value: '30',
    },
    { 'retry-after': String(retryAfterSeconds) },
  );
}

export function sendJson(
  res: ServerResponse,
  httpCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const format = answerFormat(res);
  const selected = format?.fields && httpCode < 300 ? selectFields(body, format.fields) : body;
  const text = format?.pretty === false ? JSON.stringify(selected) : JSON.stringify(selected, null, 2);
  res.writeHead(httpCode, {
    'content-type': 'application/json; charset=UTF-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-cache, no-store, max-age=0, must-revalidate',
    ...headers,
  });
  res.end(text);
}

export function sendGoogleError(res: ServerResponse, error: GoogleError): void {
  sendJson(res, error.httpCode, error.body, error.headers);
}

/** OAuth endpoint errors: `{"error": "invalid_grant", "error_description": "…"}`. */
export function sendOAuthError(
  res: ServerResponse,
  httpCode: number,
  error: string,
  description: string,
): void {
  sendJson(res, httpCode, { error, error_description: description });
}

export function sendText(
  res: ServerResponse,
  httpCode: number,
  text: string,
  contentType = 'text/html; charset=UTF-8',
): void {
  res.writeHead(httpCode, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const maxBodyBytes = 1 << 20;

/** Reads a small request body (API and OAuth requests are tiny). */
export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    total += (chunk as Buffer).length;
    if (total > maxBodyBytes) throw new Error('request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
