/**
 * Responses the gateway writes itself (not relayed from an upstream), with
 * APISIX's bodies: the JSON 404 for unmatched requests and nginx-style HTML
 * pages for everything else.
 */
import type { ServerResponse } from 'node:http';
import { ERROR_PAGE_CONTENT_TYPE, errorPage } from './error-page.js';

/** Body of APISIX's answer to an unmatched request. */
export const ROUTE_NOT_FOUND_BODY = '{"error_msg":"404 Route Not Found"}\n';
const ROUTE_NOT_FOUND = ROUTE_NOT_FOUND_BODY;
const ROUTE_NOT_FOUND_LENGTH = String(Buffer.byteLength(ROUTE_NOT_FOUND));

/** `404 {"error_msg":"404 Route Not Found"}` + newline (spec/routing.md §5.2). */
export function sendRouteNotFound(res: ServerResponse, server: string): void {
  res.writeHead(404, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': ROUTE_NOT_FOUND_LENGTH,
    server,
  });
  res.end(ROUTE_NOT_FOUND);
}

/** The nginx-style HTML page for `status`. */
export function sendErrorPage(res: ServerResponse, status: number, server: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = errorPage(status);
  res.setHeader('content-type', ERROR_PAGE_CONTENT_TYPE);
  res.setHeader('content-length', Buffer.byteLength(body));
  res.setHeader('server', server);
  res.writeHead(status);
  res.end(body);
}
