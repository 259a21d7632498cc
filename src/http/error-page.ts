/**
 * nginx-style HTML error pages. APISIX answers many failures (no upstream,
 * upstream down, timeouts, a plugin returning a bare status) with nginx's
 * built-in pages, and users' tests grep for the `<code> <reason>` text
 * (spec/routing.md §5.2), so the shape is reproduced; lines end in CRLF as nginx's do.
 */

const REASONS: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Not Allowed',
  406: 'Not Acceptable',
  408: 'Request Time-out',
  409: 'Conflict',
  410: 'Gone',
  411: 'Length Required',
  412: 'Precondition Failed',
  413: 'Request Entity Too Large',
  414: 'Request-URI Too Large',
  415: 'Unsupported Media Type',
  416: 'Requested Range Not Satisfiable',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Temporarily Unavailable',
  504: 'Gateway Time-out',
  507: 'Insufficient Storage',
};

const cache = new Map<number, string>();

/** True when nginx has a built-in page for this status (so an empty plugin exit shows it). */
export function hasErrorPage(status: number): boolean {
  return status >= 400 && REASONS[status] !== undefined;
}

/** Reason phrase nginx uses for `status`, or undefined. */
export function reasonPhrase(status: number): string | undefined {
  return REASONS[status];
}

/**
 * The HTML page for `status`.
 *
 * @example
 *   res.writeHead(502, { 'content-type': 'text/html; charset=utf-8' }).end(errorPage(502));
 */
export function errorPage(status: number): string {
  let page = cache.get(status);
  if (page === undefined) {
    const title = `${status} ${REASONS[status] ?? 'Error'}`;
    const footer = status === 500
      ? '<hr><center>fngate</center>\r\n<p><em>Powered by fngate, an APISIX-compatible gateway (apisix.apache.org semantics).</em></p>'
      : '<hr><center>fngate</center>';
    page = `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n${footer}\r\n</body>\r\n</html>\r\n`;
    cache.set(status, page);
  }
  return page;
}

export const ERROR_PAGE_CONTENT_TYPE = 'text/html; charset=utf-8';
